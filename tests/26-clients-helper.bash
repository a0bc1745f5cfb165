# Setup for the suites of other languages' Gearman libraries (26-perl,
# 27-php): a fresh server per test, GEARMAN_SERVER pointing at it and
# CLIENTS, the folder of their drivers.  Needs helper.bash loaded first.

setup() {
	server_start s
	export GEARMAN_SERVER="127.0.0.1:$PORT"
	CLIENTS=$BATS_TEST_DIRNAME/clients
}

teardown() {
	spawn_kill
	kill_started
}
