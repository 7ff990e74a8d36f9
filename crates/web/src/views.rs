//! Page context (header, navigation by role, notices) and the askama page structs.

use askama::Template;
use store::roles::Role;

use crate::session::Ctx;

pub struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub current: bool,
    /// A drop-down group (DSFR `fr-menu`) when not empty; `href` is then unused.
    pub children: Vec<NavItem>,
    /// Id of the group's collapsible list.
    pub id: &'static str,
}

/// Above this many links the menu is grouped by area, so that it fits on one line.
const FLAT_MENU_MAX: usize = 10;

pub struct UserBadge {
    pub name: String,
    pub role: &'static str,
    pub organisation: String,
}

pub struct Notice {
    /// DSFR alert type: success, info, warning or error.
    pub kind: &'static str,
    pub text: String,
}

pub struct PageCtx {
    pub title: String,
    pub user: Option<UserBadge>,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub demo: bool,
    pub notice: Option<Notice>,
}

impl PageCtx {
    /// Context for a page seen by whoever is on it (logged in or not).
    pub fn new(ctx: &Ctx, title: &str) -> PageCtx {
        let full = ctx
            .current
            .as_ref()
            .filter(|cu| cu.session.stage == store::sessions::Stage::Full);
        let user = full.map(|cu| UserBadge {
            name: cu.user.display_name(),
            role: cu.user.role.label(),
            organisation: cu.user.organisation_name.clone(),
        });
        let nav = full
            .map(|cu| nav_for(cu.user.role, &ctx.path, ctx.demo))
            .unwrap_or_default();
        PageCtx {
            title: title.to_string(),
            user,
            csrf: ctx.csrf.clone(),
            nav,
            demo: ctx.demo,
            notice: None,
        }
    }

    /// Context without a request (error pages rendered from an error value).
    pub fn bare(title: &str) -> PageCtx {
        PageCtx {
            title: title.to_string(),
            user: None,
            csrf: String::new(),
            nav: vec![],
            demo: false,
            notice: None,
        }
    }

    pub fn with_notice(mut self, kind: &'static str, text: impl Into<String>) -> PageCtx {
        self.notice = Some(Notice {
            kind,
            text: text.into(),
        });
        self
    }
}

/// The menu of a role: only what it may open.
pub fn nav_for(role: Role, path: &str, demo: bool) -> Vec<NavItem> {
    use crate::handlers::{msj, msj_admin, parquet, templates};
    let mut msj_links = msj::nav(role);
    msj_links.extend(msj_admin::nav(role));
    msj_links.extend(templates::nav(role));
    if role.is_msj() || role.is_national_admin() {
        msj_links.push(("Messages en échec", "/messages/echecs"));
    }
    let parquet_links = parquet::nav(role);
    let mut admin_links = vec![];
    if role.manages_users() {
        admin_links.push(("Utilisateurs", "/admin/utilisateurs"));
    }
    if role.is_national_admin() {
        admin_links.push(("Organisations", "/admin/organisations"));
        admin_links.push(("Satisfaction", "/admin/satisfaction"));
    }
    if role.manages_users() {
        admin_links.push(("Journal d'audit", "/admin/journal"));
    }
    let link = |(label, href): (&'static str, &'static str)| NavItem {
        label,
        href,
        current: path == href || (href != "/accueil" && path.starts_with(href)),
        children: vec![],
        id: "",
    };
    let groups = [
        ("Mon Suivi Justice", "menu-msj", msj_links),
        ("Info Parquet", "menu-info-parquet", parquet_links),
        ("Administration", "menu-administration", admin_links),
    ];
    let total: usize = groups.iter().map(|g| g.2.len()).sum::<usize>() + 1 + usize::from(demo);
    let mut items = vec![link(("Accueil", "/accueil"))];
    for (label, id, links) in groups {
        if total <= FLAT_MENU_MAX || links.len() < 2 {
            items.extend(links.into_iter().map(link));
        } else {
            let children: Vec<NavItem> = links.into_iter().map(link).collect();
            items.push(NavItem {
                label,
                href: "",
                current: children.iter().any(|c| c.current),
                children,
                id,
            });
        }
    }
    if demo {
        items.push(link(("Messages envoyés (démo)", "/demo/messages")));
    }
    items
}

/// "23/11/2026 à 14h05" in Europe/Paris, for timestamps shown to agents.
pub fn datetime_fr(unix: i64) -> String {
    use chrono::TimeZone;
    match chrono_tz::Europe::Paris.timestamp_opt(unix, 0).single() {
        Some(t) => t.format("%d/%m/%Y à %Hh%M").to_string(),
        None => String::new(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub ctx: PageCtx,
    pub status: u16,
    pub lead: String,
    pub text: String,
    pub request_id: Option<String>,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub ctx: PageCtx,
    pub email: String,
    pub error: Option<String>,
    pub next: String,
    pub demo_accounts: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "totp.html")]
pub struct TotpPage {
    pub ctx: PageCtx,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "forgot.html")]
pub struct ForgotPage {
    pub ctx: PageCtx,
    pub sent: bool,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "reset.html")]
pub struct ResetPage {
    pub ctx: PageCtx,
    pub token: String,
    pub valid: bool,
    pub error: Option<String>,
    pub invitation: bool,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub ctx: PageCtx,
    pub greeting: String,
    pub role: &'static str,
    pub organisation: String,
    pub tiles: Vec<Tile>,
    pub totp_enabled: bool,
    /// The monthly "Ce service vous aide-t-il ?" question, until answered this month.
    pub satisfaction: Option<crate::handlers::satisfaction::Prompt>,
}

pub struct Tile {
    pub title: &'static str,
    pub text: &'static str,
    pub href: &'static str,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub ctx: PageCtx,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub organisation: String,
    pub totp_enabled: bool,
    pub last_login: String,
}

#[derive(Template)]
#[template(path = "totp_setup.html")]
pub struct TotpSetupPage {
    pub ctx: PageCtx,
    pub secret: String,
    pub otpauth: String,
    pub qr_svg_data_uri: String,
    pub error: Option<String>,
    pub mandatory: bool,
    /// Re-enrolment or enrolment from a full session: the current password is asked.
    pub ask_password: bool,
    /// A second factor is already on: its current code is asked too.
    pub ask_current_code: bool,
    pub recovery_codes: Vec<String>,
}

pub struct UserRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub organisation: String,
    pub active: bool,
    pub invited: bool,
    pub last_login: String,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
pub struct UsersPage {
    pub ctx: PageCtx,
    pub users: Vec<UserRow>,
    pub roles: Vec<Choice>,
    pub organisations: Vec<Choice>,
    pub form: InviteForm,
    pub errors: Vec<(String, String)>,
}

#[derive(Default, serde::Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub organisation_id: String,
}

impl UsersPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

#[derive(Template)]
#[template(path = "user_edit.html")]
pub struct UserEditPage {
    pub ctx: PageCtx,
    pub user: UserRow,
    pub roles: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "user_profile.html")]
pub struct UserProfilePage {
    pub ctx: PageCtx,
    pub user: UserRow,
}

pub struct OrgRow {
    pub id: String,
    pub kind: &'static str,
    pub name: String,
    pub parent: String,
    pub departement: String,
    pub time_zone: String,
    pub links: String,
}

#[derive(Template)]
#[template(path = "organisations.html")]
pub struct OrganisationsPage {
    pub ctx: PageCtx,
    pub orgs: Vec<OrgRow>,
    pub kinds: Vec<Choice>,
    pub parents: Vec<Choice>,
    pub time_zones: Vec<Choice>,
    pub error: Option<String>,
}

pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub ip: String,
    pub details: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub ctx: PageCtx,
    pub rows: Vec<AuditRow>,
    /// The filter's choices, in French.
    pub actions: Vec<FilterChoice>,
    pub targets: Vec<FilterChoice>,
    pub action: String,
    pub actor: String,
    pub target_type: String,
    pub since: String,
    pub until: String,
    pub error: Option<String>,
}

pub struct FilterChoice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub struct OutboxRow {
    pub at: String,
    pub channel: &'static str,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub state: String,
    /// Why the message cannot be retried from the page (an account message: the user asks for a new link);
    /// empty when it can.
    pub no_retry: &'static str,
}

#[derive(Template)]
#[template(path = "demo_outbox.html")]
pub struct DemoOutboxPage {
    pub ctx: PageCtx,
    pub rows: Vec<OutboxRow>,
}

#[derive(Template)]
#[template(path = "text_page.html")]
pub struct TextPage {
    pub ctx: PageCtx,
    pub paragraphs: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "stop.html")]
pub struct StopPage {
    pub ctx: PageCtx,
    pub token: String,
    pub done: bool,
}

#[derive(Template)]
#[template(path = "failed_messages.html")]
pub struct FailedMessagesPage {
    pub ctx: PageCtx,
    /// `subject` carries the message id for the retry action.
    pub rows: Vec<OutboxRow>,
}
