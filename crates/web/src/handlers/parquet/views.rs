//! Page structs of Info Parquet (askama templates under `templates/parquet/`).

use askama::Template;
use store::parquet::referrals::{FactsInput, PersonInput};

use super::Errors;
use crate::views::{Choice, PageCtx};

pub struct ReferralRow {
    pub href: String,
    pub tracking: String,
    pub reference: String,
    pub facts: String,
    pub status: &'static str,
    pub badge: &'static str,
    pub urgent: bool,
    pub awaiting_ack: bool,
    pub sent_at: String,
    pub updated_at: String,
    pub administration: String,
    pub parquet: String,
}

#[derive(Template)]
#[template(path = "parquet/list.html")]
pub struct ListPage {
    pub ctx: PageCtx,
    /// `administration`, `parquet` or `national`.
    pub side: &'static str,
    pub action: &'static str,
    pub rows: Vec<ReferralRow>,
    pub statuses: Vec<Choice>,
    pub urgent_only: bool,
    pub q: String,
    pub can_create: bool,
    pub awaiting: usize,
}

pub struct StepLink {
    pub slug: &'static str,
    pub title: &'static str,
    pub number: usize,
    pub current: bool,
}

pub struct PlaceView {
    pub name: String,
    pub insee: String,
    pub address: String,
}

pub struct PersonView {
    pub name: String,
    pub kind: &'static str,
    pub role: &'static str,
    /// "Nanterre (92050)", or empty.
    pub commune: String,
    pub details: String,
}

impl PersonView {
    /// One line of a summary: "Jean Dupont (personne physique, mis en cause, Nanterre (92050))".
    pub fn summary(&self) -> String {
        let mut parts = vec![self.kind.to_lowercase(), self.role.to_lowercase()];
        if !self.commune.is_empty() {
            parts.push(self.commune.clone());
        }
        format!("{} ({})", self.name, parts.join(", "))
    }
}

pub struct OffenceView {
    pub code: String,
    pub label: String,
    pub nature: String,
}

pub struct AttachmentView {
    pub id: String,
    pub filename: String,
    pub size: String,
    pub sha256: String,
    pub scan: &'static str,
    pub scan_badge: &'static str,
    /// Clean, or stored unscanned in demo mode: there is an object to download.
    pub downloadable: bool,
    pub at: String,
    pub by: String,
}

#[derive(Template)]
#[template(path = "parquet/wizard.html")]
pub struct WizardPage {
    pub ctx: PageCtx,
    pub id: String,
    pub step: &'static str,
    pub step_no: usize,
    pub step_count: usize,
    pub step_title: &'static str,
    pub next_title: Option<&'static str>,
    pub steps: Vec<StepLink>,
    pub prev_href: Option<String>,
    pub errors: Errors,
    pub facts: FactsInput,
    pub places: Vec<PlaceView>,
    pub place_q: String,
    pub place_address: String,
    pub candidates: Vec<Choice>,
    pub persons: Vec<PersonView>,
    pub person: PersonInput,
    /// The text typed in the commune picker of the person's address.
    pub person_commune: String,
    pub offences: Vec<OffenceView>,
    pub natinf_q: String,
    pub natinf_results: Vec<OffenceView>,
    pub searched: bool,
    pub urgent: bool,
    pub urgency_reason: String,
    pub reference: String,
    pub attachments: Vec<AttachmentView>,
    pub proposal: Option<String>,
    pub parquets: Vec<Choice>,
    pub override_reason: String,
    pub art40: bool,
    pub summary: Vec<(&'static str, String)>,
    pub incomplete: Vec<(String, &'static str)>,
}

#[derive(Template)]
#[template(path = "parquet/confirmation.html")]
pub struct ConfirmationPage {
    pub ctx: PageCtx,
    pub id: String,
    pub tracking: String,
    pub parquet: String,
    pub sent_at: String,
    pub urgent: bool,
    pub pdf: bool,
}

pub struct EventView {
    pub at: String,
    pub status: &'static str,
    pub badge: &'static str,
    pub by: String,
    pub comment: String,
}

pub struct MessageView {
    pub at: String,
    pub author: String,
    pub side: &'static str,
    pub body: String,
    pub complement: bool,
    pub mine: bool,
}

pub struct DecisionView {
    pub kind: &'static str,
    pub detail: String,
    pub reason_category: String,
    pub hearing: String,
    pub text: String,
    pub appeal: Option<&'static str>,
    pub at: String,
}

#[derive(Template)]
#[template(path = "parquet/referral.html")]
pub struct ReferralPage {
    pub ctx: PageCtx,
    pub id: String,
    pub side: &'static str,
    pub back_href: &'static str,
    pub back_label: &'static str,
    pub tracking: String,
    pub status: &'static str,
    pub badge: &'static str,
    pub urgent: bool,
    pub urgency_reason: String,
    pub awaiting_ack: bool,
    pub ack: String,
    pub administration: String,
    pub reference: String,
    pub parquet: String,
    pub case_number: String,
    pub magistrate: String,
    pub routing: String,
    pub sent_at: String,
    pub facts: String,
    pub period: String,
    pub places: Vec<PlaceView>,
    pub persons: Vec<PersonView>,
    pub offences: Vec<OffenceView>,
    pub events: Vec<EventView>,
    pub decision: Option<DecisionView>,
    pub attachments: Vec<AttachmentView>,
    pub messages: Vec<MessageView>,
    pub pdf: bool,
    pub errors: Errors,
    pub message_body: String,
    // Parquet actions available now.
    pub can_ack: bool,
    pub can_register: bool,
    pub can_assign: bool,
    pub can_investigate: bool,
    pub can_decide: bool,
    pub can_transfer: bool,
    pub can_message: bool,
    pub can_request: bool,
    pub case_number_input: String,
    pub magistrates: Vec<Choice>,
    pub parquets: Vec<Choice>,
    pub reasons: Vec<Choice>,
    pub alternatives: Vec<Choice>,
    pub decision_kind: String,
    pub hearing_input: String,
    pub decision_text_input: String,
    pub transfer_reason: String,
}

pub struct MissingRow {
    pub insee: String,
    pub commune: String,
    pub reason: String,
    pub referrals: i64,
    pub last_seen: String,
}

#[derive(Template)]
#[template(path = "parquet/missing.html")]
pub struct MissingPage {
    pub ctx: PageCtx,
    pub rows: Vec<MissingRow>,
}

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub service: String,
    pub scopes: String,
    pub created: String,
    pub last_used: String,
    pub revoked: String,
}

#[derive(Template)]
#[template(path = "parquet/tokens.html")]
pub struct TokensPage {
    pub ctx: PageCtx,
    pub rows: Vec<TokenRow>,
    pub services: Vec<Choice>,
    pub name: String,
    pub read: bool,
    pub write: bool,
    pub errors: Errors,
    pub raw_token: Option<String>,
}
