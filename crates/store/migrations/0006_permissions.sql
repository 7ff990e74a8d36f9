-- Account messages (password reset, invitation) keep their link out of the stored text: `body` holds a
-- placeholder, `secret` the link, substituted only when the message is handed to the channel and cleared once it
-- has left or failed for good (kept after a demo "send", where the demo outbox shows it to its recipient only).
ALTER TABLE outbox ADD COLUMN secret TEXT;
