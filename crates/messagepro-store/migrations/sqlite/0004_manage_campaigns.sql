-- `messaging.manage_campaigns`: pausing and resuming other users' campaigns (a sender controls
-- only their own). Granted to the built-in roles that have every `messaging.*` permission.
INSERT INTO role_permissions (role_id, permission)
SELECT id, 'messaging.manage_campaigns' FROM roles WHERE name IN ('admin', 'superviseur')
ON CONFLICT (role_id, permission) DO NOTHING;
