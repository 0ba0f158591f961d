DROP TABLE auth_email_tokens;
DROP TABLE auth_refresh_tokens;
DROP TABLE auth_sessions;
DROP TABLE users;
