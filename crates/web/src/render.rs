//! Appointment messages are rendered again at send time (docs/DOMAIN.md): the organisation's template in the person's
//! language, the place as it is now, a STOP link in every SMS and an .ics invitation with e-mailed summons and
//! reschedules. A reminder or summon of an appointment canceled in the meantime is not sent.

use messaging::{Attachment, RenderFuture, Rendered, Renderer, Rendition};
use store::msj::appointments::message_context_tx;
use store::outbox::Message;
use store::{Db, Scope};

use crate::handlers::msj::notify;

pub struct AppointmentRenderer {
    /// Base of the STOP link.
    pub public_url: String,
}

/// An appointment lasts 30 minutes unless its slot says otherwise (the invitation only needs a sensible end).
const DEFAULT_DURATION_SECS: i64 = 30 * 60;

impl Renderer for AppointmentRenderer {
    fn render<'a>(&'a self, db: &'a Db, message: &'a Message) -> RenderFuture<'a> {
        Box::pin(async move {
            if message.related_type.as_deref() == Some("referral") {
                return Ok(self.render_referral(message));
            }
            self.render_appointment(db, message)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

impl AppointmentRenderer {
    async fn render_appointment(
        &self,
        db: &Db,
        m: &Message,
    ) -> Result<Rendered, store::StoreError> {
        if m.related_type.as_deref() != Some("appointment") {
            return Ok(Rendered::Keep);
        }
        let Some(appointment_id) = m.related_id.as_deref() else {
            return Ok(Rendered::Keep);
        };
        let scope = Scope::system("message renderer");
        let mut tx = db.begin().await?;
        let ctx = match message_context_tx(&mut tx, &scope, appointment_id).await {
            Ok(c) => c,
            // Deleted by retention: nothing left to say.
            Err(store::StoreError::NotFound) => {
                return Ok(Rendered::Cancel("rendez-vous supprimé".into()))
            }
            Err(e) => return Err(e),
        };
        tx.commit().await?;
        let state = ctx.appointment.state;
        if matches!(m.kind.as_str(), "summon" | "reminder" | "reschedule")
            && state != domain::AppointmentState::Booked
        {
            return Ok(Rendered::Cancel(format!(
                "rendez-vous {}",
                state.label().to_lowercase()
            )));
        }
        // The person changed their number or e-mail since the message was written (in their space or by an agent):
        // the old number or address gets nothing more.
        // A push row names a subscription: the dispatcher checks it still exists (a browser handed to someone
        // else subscribes again under a new id).
        let current = match m.channel.as_str() {
            "sms" => ctx.ppsmj.phone.as_deref(),
            "push" => Some(m.recipient.as_str()),
            _ => ctx.ppsmj.email.as_deref(),
        };
        if current != Some(m.recipient.as_str()) {
            return Ok(Rendered::Cancel(
                "coordonnées de la personne modifiées depuis la programmation".into(),
            ));
        }
        if m.channel == "email"
            && m.kind == "reminder"
            && !store::msj::space::email_reminders_on(db, &ctx.ppsmj.id).await?
        {
            return Ok(Rendered::Cancel(
                "rappels par e-mail désactivés par la personne".into(),
            ));
        }
        let language = ctx.ppsmj.language.as_str();
        let template = store::templates::effective(
            db,
            Some(&ctx.appointment.organisation_id),
            &ctx.appointment_type.id,
            &m.kind,
            language,
        )
        .await?;
        let (subject, text) = match template.and_then(|t| {
            domain::Template::parse(&t.body)
                .ok()
                .map(|p| (t.subject, p, t.language))
        }) {
            // Dates in the template's own language (a French fallback text keeps French dates).
            Some((subject, parsed, lang)) => {
                (subject, parsed.render_in(&notify::vars(&ctx), &lang))
            }
            None => (m.subject.clone(), m.body.clone()),
        };
        let mut rendition = Rendition {
            subject: subject.or_else(|| m.subject.clone()),
            body: text,
            attachments: vec![],
        };
        if m.channel == "sms" {
            // A short link to the person's space (it opens the sign-in page; it never signs in by itself).
            if matches!(m.kind.as_str(), "summon" | "reschedule") {
                let link =
                    store::msj::space::new_link_token(db, &ctx.ppsmj.id, store::now()).await?;
                rendition.body.push_str(&format!(
                    "\nMon espace : {}/mon-espace?n={link}",
                    self.public_url
                ));
            }
            let token = store::optout::sms_opt_out_token(db.pool(), &m.recipient).await?;
            rendition
                .body
                .push_str(&format!("\nSTOP SMS : {}/stop/{token}", self.public_url));
            // GSM-7 when the text allows it (French accents and typography have plain equivalents): one
            // character outside the alphabet would make every part UCS-2, 67 characters instead of 153.
            if let Some(plain) = domain::to_gsm7(&rendition.body) {
                rendition.body = plain;
            }
        } else if m.channel == "email" && matches!(m.kind.as_str(), "summon" | "reschedule") {
            let starts = ctx.appointment.starts_at;
            let location = format!("{}, {}", ctx.place.name, ctx.place.address);
            let ics = messaging::ics_invitation(
                &format!("{}@passerelle.justice.gouv.fr", ctx.appointment.id),
                starts,
                starts + DEFAULT_DURATION_SECS,
                &ctx.appointment_type.label,
                &location,
                &rendition.body,
            );
            rendition.attachments.push(Attachment::ics(ics));
        }
        Ok(Rendered::Replace(rendition))
    }
}

impl AppointmentRenderer {
    /// Info Parquet e-mails (status notices, messages, reminders, urgent alerts) link to the referral's page: the
    /// link needs the public URL, which only the web side knows, so it is added at send time.
    fn render_referral(&self, m: &Message) -> Rendered {
        let (Some(id), "email") = (m.related_id.as_deref(), m.channel.as_str()) else {
            return Rendered::Keep;
        };
        let link = format!("{}/info-parquet/signalements/{id}", self.public_url);
        let body = match m.body.find("\nCe message est envoyé automatiquement") {
            Some(i) => format!(
                "{}\nConsulter le signalement : {link}\n{}",
                &m.body[..i],
                &m.body[i..]
            ),
            None => format!("{}\n\nConsulter le signalement : {link}", m.body),
        };
        Rendered::Replace(Rendition {
            subject: m.subject.clone(),
            body,
            attachments: vec![],
        })
    }
}
