-- Demo data for a freshly provisioned database. Every statement skips what is already
-- there, so seeding twice changes nothing. @hash is the hash of DemoData.Password.

BEGIN;

INSERT INTO users (username, email, password_hash, name, bio, image) VALUES
    ('ada',    'ada@example.com',    @hash, 'Ada Byron',     'Writes about engines, analytical and otherwise.', NULL),
    ('grace',  'grace@example.com',  @hash, 'Grace Hopper',  'Compilers, nanoseconds and the occasional moth.', NULL),
    ('edsger', 'edsger@example.com', @hash, 'Edsger Dijkstra', NULL, NULL),
    ('barbara','barbara@example.com',@hash, 'Barbara Liskov', 'Abstraction, substitution, distributed systems.', NULL)
ON CONFLICT DO NOTHING;

INSERT INTO follows (follower_id, followee_id)
SELECT follower.id, followee.id
FROM (VALUES ('ada', 'grace'), ('ada', 'barbara'), ('grace', 'edsger'), ('barbara', 'ada')) AS v (follower, followee)
JOIN users follower ON follower.username = v.follower
JOIN users followee ON followee.username = v.followee
ON CONFLICT DO NOTHING;

-- Oldest first, so ids (the list order) agree with the timestamps.
INSERT INTO articles (slug, title, description, body, author_id, created_at, updated_at)
SELECT v.slug, v.title, v.description, v.body, u.id, now() - v.age, now() - v.age
FROM (VALUES
    ('notes-on-the-analytical-engine', 'Notes on the Analytical Engine', 'What a machine for numbers can do with symbols',
     E'The engine might act upon other things besides number.\n\nSuppose the relations of pitched sounds were expressed in the notation of harmony: the engine might compose elaborate pieces of music.', 'ada', interval '9 days'),
    ('a-nanosecond-is-this-long', 'A nanosecond is this long', 'Why latency is a length, not a number',
     E'Light travels about thirty centimetres in a nanosecond.\n\nEvery round trip to a far database is a piece of wire you pay for on every request.', 'grace', interval '7 days'),
    ('go-to-considered-harmful', 'Go To Considered Harmful', 'On the quality of programs and the statements they use',
     E'The quality of programmers is a decreasing function of the density of go to statements in the programs they produce.', 'edsger', interval '5 days'),
    ('substitution-in-practice', 'Substitution in practice', 'What a subtype owes its callers',
     E'If a program works with a type, it should keep working with any of its subtypes.\n\nThe rest is detail, and detail is where the bugs live.', 'barbara', interval '3 days'),
    ('one-round-trip', 'One round trip', 'Designing endpoints for a database far away',
     E'Send one statement, get one answer.\n\nCTEs, RETURNING and EXISTS do most of the work that ORMs spread over several queries.', 'grace', interval '1 day'),
    ('welcome-to-the-blog', 'Welcome to the blog', 'Start here: what this demo holds',
     E'Sign in as ada@example.com, grace@example.com, edsger@example.com or barbara@example.com with the password demo-password.\n\nFollow people, favorite articles, leave comments.', 'ada', interval '1 hour')
) AS v (slug, title, description, body, author, age)
JOIN users u ON u.username = v.author
ORDER BY v.age DESC
ON CONFLICT (slug) DO NOTHING;

INSERT INTO tags (name)
VALUES ('history'), ('computing'), ('latency'), ('databases'), ('programming'), ('design'), ('welcome')
ON CONFLICT DO NOTHING;

INSERT INTO article_tags (article_id, tag_id, position)
SELECT a.id, t.id, v.position
FROM (VALUES
    ('notes-on-the-analytical-engine', 'history', 0), ('notes-on-the-analytical-engine', 'computing', 1),
    ('a-nanosecond-is-this-long', 'latency', 0), ('a-nanosecond-is-this-long', 'history', 1),
    ('go-to-considered-harmful', 'programming', 0), ('go-to-considered-harmful', 'history', 1),
    ('substitution-in-practice', 'programming', 0), ('substitution-in-practice', 'design', 1),
    ('one-round-trip', 'latency', 0), ('one-round-trip', 'databases', 1), ('one-round-trip', 'design', 2),
    ('welcome-to-the-blog', 'welcome', 0)
) AS v (slug, tag, position)
JOIN articles a ON a.slug = v.slug
JOIN tags t ON t.name = v.tag
ON CONFLICT DO NOTHING;

INSERT INTO favorites (user_id, article_id)
SELECT u.id, a.id
FROM (VALUES
    ('ada', 'a-nanosecond-is-this-long'), ('ada', 'one-round-trip'), ('barbara', 'one-round-trip'),
    ('edsger', 'substitution-in-practice'), ('grace', 'notes-on-the-analytical-engine')
) AS v (username, slug)
JOIN users u ON u.username = v.username
JOIN articles a ON a.slug = v.slug
ON CONFLICT DO NOTHING;

INSERT INTO comments (article_id, author_id, body)
SELECT a.id, u.id, v.body
FROM (VALUES
    ('one-round-trip', 'edsger', 'Simplicity is prerequisite for reliability.'),
    ('one-round-trip', 'ada', 'Forty milliseconds saved on every request adds up quickly.'),
    ('go-to-considered-harmful', 'grace', 'It is easier to ask forgiveness than it is to get permission.')
) AS v (slug, username, body)
JOIN articles a ON a.slug = v.slug
JOIN users u ON u.username = v.username
WHERE NOT EXISTS (SELECT 1 FROM comments c WHERE c.article_id = a.id AND c.author_id = u.id AND c.body = v.body);

COMMIT;
