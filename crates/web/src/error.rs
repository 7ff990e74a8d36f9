//! One error type for handlers, rendered as DSFR error pages. Not found and not yours are the same 404; anything
//! unexpected is a 500 with a request id that is logged with its cause, never shown.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::views::{ErrorPage, PageCtx};

#[derive(Debug)]
pub enum AppError {
    NotFound,
    Forbidden,
    Csrf,
    TooManyRequests,
    /// A form body over the limit for forms (413).
    TooLarge,
    /// Too many password hashes waiting (login flood): 503 with `Retry-After`.
    Busy,
    Internal(anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl From<store::StoreError> for AppError {
    fn from(e: store::StoreError) -> Self {
        match e {
            store::StoreError::NotFound => AppError::NotFound,
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        store::StoreError::from(e).into()
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<crate::password::Busy> for AppError {
    fn from(_: crate::password::Busy) -> Self {
        AppError::Busy
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Internal(e)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, title, lead, text, request_id) = match &self {
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page non trouvée",
                "La page que vous cherchez est introuvable. Excusez-nous pour la gêne occasionnée.",
                "Si vous avez tapé l'adresse web dans le navigateur, vérifiez qu'elle est correcte. La page \
                 n'est peut-être plus disponible, ou vous n'y avez pas accès.",
                None,
            ),
            AppError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Accès refusé",
                "Votre rôle ne donne pas accès à cette page.",
                "Si vous pensez que c'est une erreur, contactez l'administrateur local de votre service.",
                None,
            ),
            AppError::Csrf => (
                StatusCode::FORBIDDEN,
                "Formulaire expiré",
                "Ce formulaire a expiré ou ne provient pas de Passerelle.",
                "Revenez à la page précédente, rechargez-la, puis envoyez le formulaire à nouveau.",
                None,
            ),
            AppError::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                "Trop de tentatives",
                "Vous avez fait trop de tentatives en peu de temps.",
                "Patientez quelques minutes avant de réessayer.",
                None,
            ),
            AppError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Formulaire trop volumineux",
                "Le formulaire envoyé dépasse la taille permise.",
                "Revenez à la page précédente, raccourcissez les textes saisis, puis envoyez le formulaire à \
                 nouveau.",
                None,
            ),
            AppError::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Service momentanément surchargé",
                "Le service reçoit beaucoup de demandes de connexion en ce moment.",
                "Patientez quelques secondes, puis réessayez. Vos informations n'ont pas été perdues : il \
                 suffit d'envoyer le formulaire à nouveau.",
                None,
            ),
            AppError::Internal(e) => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                tracing::error!(request_id = %id, error = ?e, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Erreur inattendue",
                    "Désolé, le service rencontre un problème, nous travaillons pour le résoudre le plus \
                     rapidement possible.",
                    "Essayez de rafraîchir la page ou bien réessayez plus tard. Si le problème persiste, \
                     communiquez la référence ci-dessous à l'assistance.",
                    Some(id),
                )
            }
        };
        let page = ErrorPage {
            ctx: PageCtx::bare(title),
            status: status.as_u16(),
            lead: lead.to_string(),
            text: text.to_string(),
            request_id,
        };
        let body = askama::Template::render(&page).unwrap_or_else(|_| title.to_string());
        let mut res = (status, Html(body)).into_response();
        if matches!(self, AppError::Busy) {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
        }
        res
    }
}
