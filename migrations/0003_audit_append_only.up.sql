-- The audit log is append-only: rows are never changed, and leave only
-- through `veza audit purge`, which records its own entry. The trigger
-- refuses UPDATE and TRUNCATE always, and DELETE unless the transaction
-- declared, with set_config('veza.audit_purge_before', <timestamptz>, true),
-- the cut-off of a purge, earlier than the transaction's start: only rows
-- older than it may go, never the purge's own entry. This guards
-- against the application (a bug, a stray DELETE), not against a database
-- owner, who can drop the trigger; give the application a role that does
-- not own the table to close that too.
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    cutoff text := current_setting('veza.audit_purge_before', true);
BEGIN
    -- Nested: OLD is not assigned in the statement-level TRUNCATE trigger.
    IF TG_OP = 'DELETE' AND coalesce(cutoff, '') <> '' THEN
        IF cutoff::timestamptz < now() AND OLD.at < cutoff::timestamptz THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'entries leave only through `veza audit purge --before DATE`';
END
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
