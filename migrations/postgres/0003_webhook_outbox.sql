-- v2: verified vendor webhooks, stored before the vendor gets its 200 and delivered to the
-- upstream from here (at least once, with backoff) until it answers 2xx. A vendor's
-- retry of the same delivery (same provider, signature and body) is stored once.
CREATE TABLE webhook_events (
    id              TEXT    PRIMARY KEY,
    provider        TEXT    NOT NULL,
    dedup_key       TEXT    NOT NULL UNIQUE,
    event_type      TEXT    NOT NULL,
    body            BYTEA    NOT NULL,
    received_at     BIGINT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    delivered_at    BIGINT,
    last_error      TEXT
);
CREATE INDEX webhook_events_due ON webhook_events (delivered_at, next_attempt_at);
