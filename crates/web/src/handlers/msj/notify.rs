//! Messages to a PPSMJ about their appointments, written to the outbox in the transaction of the change.
//!
//! ONE entry point, [`enqueue_for`]: the messaging layer can later replace [`template_for`] with the
//! organisation's own templates without touching the booking handlers.

use chrono::{DateTime, Utc};
use domain::{QuietHours, Template, TemplateVars};
use store::msj::appointments::{message_context_tx, MessageContext};
use store::msj::{MessageEvent, MessageKind};
use store::outbox::{self, NewMessage};
use store::{Scope, Tx};

/// The national French text of each kind, as migrations 0003 and 0013 seed it: what the outbox row holds until the
/// message is rendered again at send time with the organisation's template in the person's language (so what an
/// agent reads before sending is, in the common case, exactly what will leave).
pub fn default_text(kind: &str) -> &'static str {
    match kind {
        "summon" => "Convocation le {rdv.date} à {rdv.heure} : {lieu.nom}, {lieu.adresse}. Venez avec une pièce d'identité. Pour changer : appelez le {lieu.téléphone}.",
        "reminder" => "Rappel : rendez-vous le {rdv.date} à {rdv.heure} : {lieu.nom}, {lieu.adresse}. Si vous ne pouvez pas venir, appelez le {lieu.téléphone}.",
        "cancelation" => "Votre rendez-vous du {rdv.date} à {rdv.heure} ({lieu.nom}) est annulé. Vous recevrez une nouvelle convocation. Questions : {lieu.téléphone}.",
        "reschedule" => "Votre rendez-vous est déplacé au {rdv.date} à {rdv.heure} : {lieu.nom}, {lieu.adresse}. Si vous ne pouvez pas venir, appelez le {lieu.téléphone}.",
        _ => "Vous avez manqué votre rendez-vous du {rdv.date} à {rdv.heure} ({lieu.nom}). Appelez vite le {lieu.téléphone} pour le justifier.",
    }
}

fn subject(kind: &str) -> &'static str {
    match kind {
        "summon" => "Convocation à un rendez-vous",
        "reminder" => "Rappel de votre rendez-vous",
        "cancelation" => "Annulation de votre rendez-vous",
        "reschedule" => "Changement de votre rendez-vous",
        _ => "Rendez-vous manqué",
    }
}

/// The template of a kind for an organisation and appointment type: today the national default. The messaging
/// engineer swaps in the organisation's overrides here.
pub fn template_for(_ctx: &MessageContext, kind: &str) -> Template {
    Template::parse(default_text(kind)).expect("default templates are valid")
}

fn national_phone(e164: &str) -> String {
    domain::PhoneNumber::parse(e164)
        .map(|p| p.national_display())
        .unwrap_or_else(|_| e164.to_string())
}

pub fn vars(ctx: &MessageContext) -> TemplateVars {
    let start = DateTime::<Utc>::from_timestamp(ctx.appointment.starts_at, 0).unwrap_or_default();
    TemplateVars {
        starts_at_local: start.with_timezone(&ctx.time_zone).naive_local(),
        place_name: ctx.place.name.clone(),
        place_address: ctx.place.address.clone(),
        place_phone: ctx
            .place
            .phone
            .as_deref()
            .or(ctx.organisation_phone.as_deref())
            .map(national_phone)
            .unwrap_or_else(|| ctx.organisation_name.clone()),
        place_contact: ctx.place.email.clone().unwrap_or_default(),
        place_info_url: ctx.place.preparation_url.clone().unwrap_or_default(),
    }
}

/// Writes one message per reachable channel (SMS to the mobile when SMS is possible, e-mail when known); a
/// reminder also goes to each browser where the person turned on push notifications.
async fn write(
    tx: &mut Tx<'_>,
    ctx: &MessageContext,
    kind: &str,
    due_at: i64,
) -> store::Result<usize> {
    let body = template_for(ctx, kind).render(&vars(ctx));
    let mut recipients: Vec<(&str, String)> = vec![];
    if ctx.ppsmj.sms_possible() {
        if let Some(phone) = &ctx.ppsmj.phone {
            recipients.push(("sms", phone.clone()));
        }
    }
    if let Some(email) = &ctx.ppsmj.email {
        recipients.push(("email", email.clone()));
    }
    if kind == "reminder" {
        for id in store::push::ids_for_person_tx(tx, &ctx.ppsmj.id).await? {
            recipients.push(("push", id));
        }
    }
    for (channel, recipient) in &recipients {
        outbox::enqueue(
            &mut **tx,
            &NewMessage {
                channel: channel.to_string(),
                kind: kind.to_string(),
                organisation_id: Some(ctx.appointment.organisation_id.clone()),
                recipient: recipient.clone(),
                subject: (*channel != "sms").then(|| subject(kind).to_string()),
                body: body.clone(),
                due_at,
                related_type: Some("appointment".into()),
                related_id: Some(ctx.appointment.id.clone()),
            },
        )
        .await?;
    }
    Ok(recipients.len())
}

/// Enqueues what `events` call for, in the caller's transaction: the message of each event (sent now, or at the
/// next allowed time), plus the reminder of a new appointment; cancels the pending reminder of an appointment that
/// is canceled (or replaced: pass its id in `replaced`). Returns how many rows were written.
pub async fn enqueue_for(
    tx: &mut Tx<'_>,
    scope: &Scope,
    events: &[MessageEvent],
    replaced: Option<&str>,
    now: i64,
    quiet_hours: Option<QuietHours>,
) -> store::Result<usize> {
    if let Some(old) = replaced {
        outbox::cancel_pending(
            &mut **tx,
            "appointment",
            old,
            Some("reminder"),
            store::now(),
        )
        .await?;
    }
    let now_utc = DateTime::<Utc>::from_timestamp(now, 0).unwrap_or_default();
    let quiet = quiet_hours.unwrap_or_default();
    let mut written = 0;
    for e in events {
        if e.kind == MessageKind::Cancelation {
            outbox::cancel_pending(
                &mut **tx,
                "appointment",
                &e.appointment_id,
                Some("reminder"),
                store::now(),
            )
            .await?;
        }
        let ctx = match message_context_tx(tx, scope, &e.appointment_id).await {
            Ok(c) => c,
            // The record left the scope (divestment): nobody to tell from here.
            Err(store::StoreError::NotFound) => continue,
            Err(err) => return Err(err),
        };
        let start =
            DateTime::<Utc>::from_timestamp(ctx.appointment.starts_at, 0).unwrap_or_default();
        let due = match quiet_hours {
            Some(q) => {
                domain::immediate_send_time(now_utc, ctx.time_zone, &ctx.departement, q, start)
            }
            None => now_utc,
        };
        written += write(tx, &ctx, e.kind.as_str(), due.timestamp()).await?;
        if matches!(e.kind, MessageKind::Summon | MessageKind::Reschedule) {
            let days = u32::try_from(ctx.appointment_type.reminder_days_before).unwrap_or(1);
            if let Some(at) = domain::reminder_send_time(
                start,
                days,
                domain::timing::default_reminder_hour(),
                ctx.time_zone,
                &ctx.departement,
                quiet,
                now_utc,
            ) {
                written += write(tx, &ctx, "reminder", at.timestamp()).await?;
            }
        }
    }
    Ok(written)
}
