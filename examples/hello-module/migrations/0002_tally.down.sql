DROP INDEX IF EXISTS hello_greetings_name_idx;
DROP TABLE IF EXISTS hello_tally;
