#!/nonexistent/interpreter -x
# A #! line naming an interpreter that does not exist (tests/integration/75-shells.sh).
