-- A production-sized data set for the deploy drill (bench/blogbench/deploy.py), made with
-- generate_series on a database at migration 0008 (the previous release's schema): 10,000
-- users, 300,000 articles (10% with a tag), 2,100,000 favorites (7 an article, from users spread
-- over the whole range). Every user's password is "demo-password", as in bench/seed.sql.

INSERT INTO users (username, email, password_hash)
SELECT 'user' || i, 'user' || i || '@example.com',
       'AQAAAAIAAYagAAAAEOtqhu4nDD1cNW+RYJtcYsUTz+rhix5tqm+jwU5ISDXgTisQcTVxBPmEYzI0KxoGoQ=='
FROM generate_series(1, 10000) AS i;

INSERT INTO tags (name) SELECT 'topic' || i FROM generate_series(1, 50) AS i;

INSERT INTO articles (id, slug, title, description, body, author_id, created_at, updated_at)
SELECT i, 'drill-article-' || i, 'Drill article ' || i, 'What article ' || i || ' is about',
       repeat('A sentence of the body of the article. ', 5 + i % 20), 1 + (i::bigint * 7919) % 10000,
       timestamptz '2024-01-01' + i * interval '1 minute', timestamptz '2024-01-01' + i * interval '1 minute'
FROM generate_series(1, 300000) AS i;
SELECT setval(pg_get_serial_sequence('articles', 'id'), 300000);

INSERT INTO article_tags (article_id, tag_id, position)
SELECT a, 1 + a % 50, 0 FROM generate_series(10, 300000, 10) AS a;

-- For article a, users 1 + (7919 a + 4729 k) mod 10000, k = 1..7: seven different users.
INSERT INTO favorites (user_id, article_id)
SELECT 1 + (a::bigint * 7919 + k * 4729) % 10000, a FROM generate_series(1, 300000) AS a, generate_series(1, 7) AS k;

ANALYZE;
