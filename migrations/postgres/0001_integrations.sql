-- Integrations created through the embedded Bindbee and Kombo flows.
-- `credential` is nonce || XChaCha20-Poly1305 ciphertext of the connector token (Bindbee)
-- or integration id (Kombo), bound to organization, provider and remote_id; `key_id`
-- names the key that sealed it.
CREATE TABLE integrations (
    id           TEXT    PRIMARY KEY,
    organization TEXT    NOT NULL,
    provider     TEXT    NOT NULL,
    remote_id    TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    tool         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    credential   BYTEA   NOT NULL,
    key_id       TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    created_by   TEXT    NOT NULL,
    UNIQUE (provider, remote_id)
);
CREATE INDEX integrations_by_organization ON integrations (organization, created_at DESC);

-- The caller's latest link request per provider, so connect/activate can default the
-- category and tool the vendor flow was started with.
CREATE TABLE link_requests (
    created_by   TEXT    NOT NULL,
    provider     TEXT    NOT NULL,
    organization TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    tool         TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (created_by, provider)
);
