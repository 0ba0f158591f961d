DROP TABLE social_notifications;
DROP TABLE social_feed_tracks;
DROP TABLE social_user_counts;
DROP TABLE social_track_counts;
DROP TABLE social_comments;
DROP TABLE social_follows;
DROP TABLE social_likes;
