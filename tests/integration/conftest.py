"""Integration tests run against real servers started by the test session.

The Neo4j fixtures (`neo4j_server`, `neo4j_driver`, `java_and_maven`, `free_port`,
`neo4j_start_timeout_s`) live in tests/conftest.py, so the graph contract suite in tests/kg can
use them too. Without java or mvn the tests that need them are skipped, saying why, except under
CI=true, where that is a failure: CI never silently skips the Neo4j suite.
"""
