-- v2: one status vocabulary for both vendors (connecting | active | needs_relink).
-- Version 1 stored each vendor's own word, lower-cased ("completed" from Kombo's
-- setup_status, "active" from Bindbee, "incomplete", "final_sync_pending").
UPDATE integrations SET status = CASE lower(status)
    WHEN 'completed' THEN 'active'
    WHEN 'complete' THEN 'active'
    WHEN 'active' THEN 'active'
    WHEN 'relink_needed' THEN 'needs_relink'
    WHEN 'needs_relink' THEN 'needs_relink'
    ELSE 'connecting'
END;
