-- Web Push (issue 13 item 7): a person's browsers that opted in to reminders from /mon-espace. One row per
-- browser subscription (the push service's endpoint and the browser's keys for the aes128gcm payload); removed
-- when the person unsubscribes or the push service answers 404/410. The outbox row of a push message names the
-- subscription id as its recipient.
CREATE TABLE push_subscriptions (
    id TEXT PRIMARY KEY,
    ppsmj_id TEXT NOT NULL REFERENCES ppsmj(id),
    endpoint TEXT NOT NULL,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX push_subscriptions_endpoint ON push_subscriptions(endpoint);
CREATE INDEX push_subscriptions_ppsmj ON push_subscriptions(ppsmj_id);
