-- Initial schema (SQLite). Timestamps are INTEGER Unix milliseconds UTC, as on PostgreSQL.
CREATE TABLE roles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    builtin     BOOLEAN NOT NULL DEFAULT FALSE,
    created_ms  INTEGER NOT NULL
);

CREATE TABLE role_permissions (
    role_id    INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    permission TEXT    NOT NULL,
    PRIMARY KEY (role_id, permission)
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role_id       INTEGER NOT NULL REFERENCES roles(id),
    language      TEXT,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL,
    last_login_ms INTEGER
);

CREATE TABLE sessions (
    id        TEXT    PRIMARY KEY,
    data      TEXT    NOT NULL,
    expiry_ms INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry_ms);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms    INTEGER NOT NULL,
    user_id  INTEGER,
    username TEXT,
    action   TEXT    NOT NULL,
    target   TEXT,
    ip       TEXT,
    outcome  TEXT    NOT NULL,
    detail   TEXT
);
CREATE INDEX audit_log_at ON audit_log (at_ms);
CREATE INDEX audit_log_action ON audit_log (action);

CREATE TABLE login_throttle (
    key              TEXT    PRIMARY KEY,
    failures         INTEGER NOT NULL,
    first_failure_ms INTEGER NOT NULL,
    locked_until_ms  INTEGER
);

CREATE TABLE campaigns (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    channel    TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    total      INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER REFERENCES users(id),
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);

CREATE TABLE messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    channel          TEXT    NOT NULL,
    recipient        TEXT    NOT NULL,
    text             TEXT    NOT NULL,
    route            TEXT    NOT NULL DEFAULT '{}',
    status           TEXT    NOT NULL,
    platform_id      TEXT,
    platform_message TEXT,
    segments         INTEGER NOT NULL DEFAULT 1,
    created_by       INTEGER REFERENCES users(id),
    campaign_id      INTEGER REFERENCES campaigns(id),
    created_ms       INTEGER NOT NULL,
    updated_ms       INTEGER NOT NULL
);
CREATE INDEX messages_status ON messages (status, id);
CREATE INDEX messages_campaign ON messages (campaign_id, id);
CREATE INDEX messages_channel ON messages (channel, id);
CREATE INDEX messages_created ON messages (created_ms);

CREATE TABLE contacts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    phone        TEXT    NOT NULL UNIQUE,
    opted_out_ms INTEGER,
    created_ms   INTEGER NOT NULL,
    updated_ms   INTEGER NOT NULL
);

CREATE TABLE groups (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL
);

CREATE TABLE contact_groups (
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    group_id   INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    PRIMARY KEY (contact_id, group_id)
);
CREATE INDEX contact_groups_group ON contact_groups (group_id);

-- Built-in roles (DESIGN.md). created_ms 0: seeded, not created by anyone.
INSERT INTO roles (name, description, builtin, created_ms) VALUES
    ('admin', 'Tout', TRUE, 0),
    ('superviseur', 'Toute la messagerie', TRUE, 0),
    ('operateur', 'Lecture, envoi SMS et WhatsApp', TRUE, 0),
    ('lecteur', 'Lecture seule', TRUE, 0);

INSERT INTO role_permissions (role_id, permission)
SELECT r.id, p.permission FROM roles r, (
    SELECT 'admin' AS role, 'messaging.read' AS permission
    UNION ALL SELECT 'admin', 'messaging.send_sms'
    UNION ALL SELECT 'admin', 'messaging.send_whatsapp'
    UNION ALL SELECT 'admin', 'messaging.send_otp'
    UNION ALL SELECT 'admin', 'messaging.manage_contacts'
    UNION ALL SELECT 'admin', 'admin.users'
    UNION ALL SELECT 'superviseur', 'messaging.read'
    UNION ALL SELECT 'superviseur', 'messaging.send_sms'
    UNION ALL SELECT 'superviseur', 'messaging.send_whatsapp'
    UNION ALL SELECT 'superviseur', 'messaging.send_otp'
    UNION ALL SELECT 'superviseur', 'messaging.manage_contacts'
    UNION ALL SELECT 'operateur', 'messaging.read'
    UNION ALL SELECT 'operateur', 'messaging.send_sms'
    UNION ALL SELECT 'operateur', 'messaging.send_whatsapp'
    UNION ALL SELECT 'lecteur', 'messaging.read'
) p WHERE r.name = p.role;
