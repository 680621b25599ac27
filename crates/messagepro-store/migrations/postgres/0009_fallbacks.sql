-- Fallback routes (issues 9 and 10): a message may carry a second way to reach its recipient
-- (e.g. WhatsApp, then SMS) used once, if and only if the first one ends `failed`.
--
-- `state`: waiting (the message is not final), due (it failed: the fallback is to be sent),
-- done (the fallback message `fallback_id` was recorded, with its outbox job, in one
-- transaction) or unneeded (the message was sent or skipped). The trigger below moves waiting
-- rows in the transaction that makes the message final, whichever code path did it (a
-- worker's turn, reconciliation, lease expiry), so a failure is never missed; the worker's
-- pass turns each due row into exactly one message (a conditional update guards it).
-- `payload`: the fallback's outbox payload (recipient, text, route), built when the message
-- was accepted. Timestamps are BIGINT Unix milliseconds UTC.
CREATE TABLE message_fallbacks (
    message_id  BIGINT  PRIMARY KEY REFERENCES messages(id),
    channel     TEXT    NOT NULL,
    route       TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    text        TEXT    NOT NULL,
    segments    BIGINT  NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'waiting',
    fallback_id BIGINT  UNIQUE REFERENCES messages(id),
    updated_ms  BIGINT  NOT NULL
);
CREATE INDEX message_fallbacks_due ON message_fallbacks (message_id) WHERE state = 'due';

CREATE FUNCTION message_fallback_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE message_fallbacks
    SET state = CASE WHEN NEW.status = 'failed' THEN 'due' ELSE 'unneeded' END,
        updated_ms = NEW.updated_ms
    WHERE message_id = NEW.id AND state = 'waiting';
    RETURN NULL;
END $$;
CREATE TRIGGER message_fallback_final AFTER UPDATE OF status ON messages FOR EACH ROW
WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('sent', 'failed', 'skipped'))
EXECUTE FUNCTION message_fallback_final();

-- An event rule's fallback: channel (sms | whatsapp) and route JSON (NULL: the default).
ALTER TABLE event_rules ADD COLUMN fallback_channel TEXT;
ALTER TABLE event_rules ADD COLUMN fallback_route TEXT;
