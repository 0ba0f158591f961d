DROP TABLE IF EXISTS hello_deliveries;
DROP TABLE IF EXISTS hello_greetings;
