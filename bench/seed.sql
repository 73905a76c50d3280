-- A large, realistic data set for benchmarks and query-plan checks, made in seconds with
-- generate_series: 10,000 users, 100,000 articles (newest has the highest id), ~150,000
-- article tags over 200 tags of skewed popularity, ~300,000 favorites, 200,000 follows and
-- 100,000 comments. Run on a migrated, empty database. Every user's password is
-- "demo-password" (the hash below is the framework hasher's, as Blog.Api seed stores it).

SELECT setseed(0.42);

INSERT INTO users (username, email, password_hash, bio)
SELECT 'user' || i, 'user' || i || '@example.com',
       'AQAAAAIAAYagAAAAEOtqhu4nDD1cNW+RYJtcYsUTz+rhix5tqm+jwU5ISDXgTisQcTVxBPmEYzI0KxoGoQ==',
       CASE WHEN i % 3 = 0 THEN 'Writer number ' || i END
FROM generate_series(1, 10000) AS i;

INSERT INTO tags (name) SELECT 'topic' || i FROM generate_series(1, 200) AS i;

INSERT INTO articles (id, slug, title, description, body, author_id, created_at, updated_at)
SELECT i, 'article-number-' || i || '-' || i, 'Article number ' || i, 'What article ' || i || ' is about',
       repeat('A sentence of the body of the article. ', 5 + i % 20),
       1 + (i * 7919) % 10000,
       timestamptz '2024-01-01' + i * interval '7 minutes', timestamptz '2024-01-01' + i * interval '7 minutes'
FROM generate_series(1, 100000) AS i;
SELECT setval(pg_get_serial_sequence('articles', 'id'), 100000);

-- 0 to 3 tags per article; low tag ids are the popular ones.
INSERT INTO article_tags (article_id, tag_id, position)
SELECT a, 1 + floor(200 * random() ^ 3)::int, p
FROM generate_series(1, 100000) AS a, generate_series(1, 3) AS p
WHERE random() < 0.5
ON CONFLICT DO NOTHING;

INSERT INTO favorites (user_id, article_id)
SELECT 1 + floor(10000 * random())::int, 1 + floor(100000 * random() ^ 2)::int
FROM generate_series(1, 300000)
ON CONFLICT DO NOTHING;

INSERT INTO follows (follower_id, followee_id)
SELECT follower, followee
FROM (SELECT u AS follower, 1 + floor(10000 * random())::int AS followee
      FROM generate_series(1, 10000) AS u, generate_series(1, 20)) AS pairs
WHERE follower <> followee
ON CONFLICT DO NOTHING;

INSERT INTO comments (article_id, author_id, body, created_at, updated_at)
SELECT 1 + floor(100000 * random())::int, 1 + floor(10000 * random())::int, 'Comment number ' || i, now(), now()
FROM generate_series(1, 100000) AS i;

ANALYZE;
