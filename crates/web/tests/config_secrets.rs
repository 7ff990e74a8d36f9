//! Configuration secrets never show in `Debug` output (which is what ends up in logs and panic messages).
//! One test in this binary: it sets process environment variables, which no other test may read at the same time.

use web::config::{Mode, SmsConfig};
use web::Config;

const DB_PASSWORD: &str = "db-pass-Xy7kq";
const SMTP_PASSWORD: &str = "smtp-pass-Q9wLm";
const BREVO_KEY: &str = "xkeysib-brevo-key-5551";
const WEBHOOK_SECRET: &str = "webhook-secret-Zz81";
const LINK_PASSWORD: &str = "link-pass-77Hb";
/// base64 of 32 bytes of 0x42.
const ENCRYPTION_KEY: &str = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=";

fn assert_hidden(debug: &str) {
    for secret in [
        DB_PASSWORD,
        SMTP_PASSWORD,
        BREVO_KEY,
        WEBHOOK_SECRET,
        LINK_PASSWORD,
        ENCRYPTION_KEY,
        "QkJCQkJC",
        "4242424242",
    ] {
        assert!(!debug.contains(secret), "{secret} shown in {debug}");
    }
}

#[test]
fn debug_output_of_the_configuration_shows_no_secret() {
    let dir = store::testing::TempDir::new();
    for (k, v) in [
        (
            "DATABASE_URL",
            format!("postgres://passerelle:{DB_PASSWORD}@db.justice.example/passerelle"),
        ),
        (
            "PASSERELLE_SMTP_URL",
            format!("smtp://mailer:{SMTP_PASSWORD}@smtp.justice.example:587"),
        ),
        ("PASSERELLE_SMS_PROVIDER", "brevo".into()),
        ("PASSERELLE_BREVO_API_KEY", BREVO_KEY.into()),
        ("PASSERELLE_SMS_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
        ("PASSERELLE_ENCRYPTION_KEY", ENCRYPTION_KEY.into()),
        ("PASSERELLE_CLAMD", "tcp://127.0.0.1:3310".into()),
        ("PASSERELLE_DATA_DIR", dir.0.display().to_string()),
    ] {
        std::env::set_var(k, v);
    }
    let config = Config::from_env(Mode::Serve).unwrap();
    let debug = format!("{config:?}");
    assert_hidden(&debug);
    // Still useful to read: where it connects, with the password masked.
    assert!(debug.contains("db.justice.example"), "{debug}");
    assert!(debug.contains("smtp.justice.example"), "{debug}");
    assert!(debug.contains("***"), "{debug}");
    // The code that needs a secret still gets it.
    assert_eq!(config.sms.webhook_secret("brevo"), Some(WEBHOOK_SECRET));
    assert!(config.database_url.expose().contains(DB_PASSWORD));
    match &config.sms {
        SmsConfig::Brevo { api_key, .. } => assert_eq!(api_key.expose(), BREVO_KEY),
        other => panic!("{other:?}"),
    }

    std::env::set_var("PASSERELLE_SMS_PROVIDER", "linkmobility");
    for (k, v) in [
        ("PASSERELLE_LINKMOBILITY_URL", "https://sms.example"),
        ("PASSERELLE_LINKMOBILITY_USERNAME", "passerelle"),
        ("PASSERELLE_LINKMOBILITY_PASSWORD", LINK_PASSWORD),
        ("PASSERELLE_LINKMOBILITY_PLATFORM_ID", "1"),
        ("PASSERELLE_LINKMOBILITY_PARTNER_ID", "2"),
    ] {
        std::env::set_var(k, v);
    }
    let config = Config::from_env(Mode::Serve).unwrap();
    assert_hidden(&format!("{config:?}"));
    assert_hidden(&format!("{:#?}", config.sms));

    // The attachments' master key (read by the file store, not kept in the configuration) is not shown either.
    let files = files::FileStore::from_env(&dir.0, false).unwrap();
    assert_hidden(&format!("{files:?}"));
    assert_hidden(&format!("{:?}", files::Keyring::from_key([0x42; 32])));
}
