DROP TABLE auth_follow_counts;
