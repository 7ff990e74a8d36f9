//! iCalendar invitations (RFC 5545, iTIP METHOD:REQUEST per RFC 5546) attached to summons and reschedules.
//!
//! Lines end with CRLF and are folded at 75 octets without splitting a UTF-8 character; text values escape
//! `\`, `;`, `,` and newlines. Times are written in UTC (`…Z`), which every calendar converts to local time, so no
//! VTIMEZONE block is needed. A reschedule reuses the UID with a higher SEQUENCE so the calendar moves the event.

use chrono::{DateTime, TimeZone, Utc};

#[derive(Clone, Debug)]
pub struct IcsEvent {
    /// Stable per appointment (e.g. `appointment-id@passerelle`): the same UID updates the same event.
    pub uid: String,
    /// 0 at the first invitation, incremented at each reschedule.
    pub sequence: u32,
    pub starts_at_utc: i64,
    pub ends_at_utc: i64,
    pub summary: String,
    pub location: String,
    pub description: String,
    /// `(display name, e-mail)` of the organiser; RFC 5546 wants one for METHOD:REQUEST and Outlook shows it.
    pub organizer: Option<(String, String)>,
    /// The recipient's e-mail, as ATTENDEE (lets Outlook and Google treat it as an invitation).
    pub attendee: Option<String>,
    /// When the object was created (DTSTAMP), unix seconds.
    pub stamp_utc: i64,
}

/// An invitation with the given times (unix seconds, UTC), stamped now.
pub fn ics_invitation(
    uid: &str,
    starts_at_utc: i64,
    ends_at_utc: i64,
    summary: &str,
    location: &str,
    description: &str,
) -> String {
    IcsEvent {
        uid: uid.to_string(),
        sequence: 0,
        starts_at_utc,
        ends_at_utc,
        summary: summary.to_string(),
        location: location.to_string(),
        description: description.to_string(),
        organizer: None,
        attendee: None,
        stamp_utc: store::now(),
    }
    .to_ics()
}

impl IcsEvent {
    pub fn to_ics(&self) -> String {
        let mut lines: Vec<String> = vec![
            "BEGIN:VCALENDAR".into(),
            "VERSION:2.0".into(),
            "PRODID:-//Ministere de la Justice//Passerelle//FR".into(),
            "CALSCALE:GREGORIAN".into(),
            "METHOD:REQUEST".into(),
            "BEGIN:VEVENT".into(),
            format!("UID:{}", escape(&self.uid)),
            format!("SEQUENCE:{}", self.sequence),
            format!("DTSTAMP:{}", utc(self.stamp_utc)),
            format!("DTSTART:{}", utc(self.starts_at_utc)),
            format!("DTEND:{}", utc(self.ends_at_utc.max(self.starts_at_utc))),
            format!("SUMMARY:{}", escape(&self.summary)),
            format!("LOCATION:{}", escape(&self.location)),
            format!("DESCRIPTION:{}", escape(&self.description)),
            "STATUS:CONFIRMED".into(),
            "TRANSP:OPAQUE".into(),
        ];
        if let Some((name, email)) = &self.organizer {
            lines.push(format!("ORGANIZER;CN={}:mailto:{}", param(name), email));
        }
        if let Some(email) = &self.attendee {
            lines.push(format!(
                "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE:mailto:{email}"
            ));
        }
        lines.extend([
            "BEGIN:VALARM".to_string(),
            "ACTION:DISPLAY".into(),
            format!("DESCRIPTION:{}", escape(&self.summary)),
            "TRIGGER:-PT2H".into(),
            "END:VALARM".into(),
            "END:VEVENT".into(),
            "END:VCALENDAR".into(),
        ]);
        let mut out = String::new();
        for line in lines {
            fold_into(&mut out, &line);
        }
        out
    }
}

fn utc(t: i64) -> String {
    let dt: DateTime<Utc> = Utc.timestamp_opt(t, 0).single().unwrap_or_default();
    dt.format("%Y%m%dT%H%M%SZ").to_string()
}

/// TEXT value escaping (RFC 5545 §3.3.11).
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value (CN=…) is quoted; DQUOTE cannot appear inside and is dropped.
fn param(value: &str) -> String {
    let clean: String = value
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    format!("\"{clean}\"")
}

/// Appends `line` folded at 75 octets (RFC 5545 §3.1), continuation lines starting with one space.
fn fold_into(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitation_is_crlf_folded_and_escaped() {
        let ics = ics_invitation(
            "rdv-1@passerelle",
            1_800_000_000,
            1_800_001_800,
            "Convocation SPIP",
            "SPIP 92, 179 avenue Joliot-Curie; Nanterre",
            &"Apportez une pièce d'identité.\nMerci. ".repeat(5),
        );
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(ics.contains("METHOD:REQUEST\r\n"));
        assert!(ics.contains("DTSTART:20270115T080000Z\r\n"));
        assert!(ics.contains("DTEND:20270115T083000Z\r\n"));
        assert!(ics.contains("LOCATION:SPIP 92\\, 179 avenue Joliot-Curie\\; Nanterre\r\n"));
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "line over 75 octets: {line}");
            assert!(!line.contains('\n') && !line.contains('\r'));
        }
        // Unfolding gives back the escaped description.
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains("DESCRIPTION:Apportez une pièce d'identité.\\nMerci. Apportez"));
    }

    #[test]
    fn folding_never_splits_a_utf8_character() {
        let mut out = String::new();
        fold_into(&mut out, &format!("SUMMARY:{}", "é".repeat(100)));
        for line in out.split("\r\n") {
            assert!(line.len() <= 75);
        }
        assert_eq!(
            out.replace("\r\n ", "").trim_end(),
            format!("SUMMARY:{}", "é".repeat(100))
        );
    }
}
