<?php
/*
 * PHP gearman extension (php-gearman) client driver for the compatibility
 * suites: one operation per run against $GEARMAN_SERVER.
 *
 * php-client.php do FUNC ARG [normal|high|low] [UNIQ]   doNormal/High/Low
 * php-client.php bg FUNC ARG [normal|high|low] [UNIQ]   doBackground...
 * php-client.php status HANDLE                          jobStatus
 * php-client.php ustatus UNIQ                           jobStatusByUniqueKey
 * php-client.php events FUNC ARG [exc]                  a task, callbacks
 * php-client.php tasks FUNC ARG...                      several tasks
 * php-client.php ping                                   ECHO round trip
 *
 * Exit 0, or 1 when the job failed (the return code is printed).
 */

function rc_name($rc)
{
	foreach (get_defined_constants(true)['gearman'] as $k => $v)
		if ($v === $rc && strpos($k, 'GEARMAN_') === 0 &&
		    strpos($k, 'COMMAND') === false && strpos($k, '_STATE_') ===
		    false && strpos($k, 'CLIENT') === false &&
		    strpos($k, 'WORKER') === false)
			return $k;
	return "rc $rc";
}

$argv = $_SERVER['argv'];
array_shift($argv);
$op = array_shift($argv);
$c = new GearmanClient();
$c->addServers(getenv('GEARMAN_SERVER'));
$c->setTimeout(30000);

switch ($op) {
case 'do':
case 'bg':
	$f = $argv[0];
	$arg = $argv[1];
	$prio = $argv[2] ?? 'normal';
	$uniq = $argv[3] ?? null;
	$m = ['do' => ['normal' => 'doNormal', 'high' => 'doHigh',
	    'low' => 'doLow'], 'bg' => ['normal' => 'doBackground',
	    'high' => 'doHighBackground', 'low' => 'doLowBackground']];
	$fn = $m[$op][$prio];
	$res = $c->$fn($f, $arg, $uniq);
	if ($c->returnCode() != GEARMAN_SUCCESS) {
		echo "FAILED ", rc_name($c->returnCode()), "\n";
		exit(1);
	}
	echo $res, "\n";
	break;
case 'status':
	$s = $c->jobStatus($argv[0]);
	echo implode(' ', array_map('intval', $s)), "\n";
	break;
case 'ustatus':
	$s = $c->jobStatusByUniqueKey($argv[0]);
	echo implode(' ', array_map('intval', $s)), "\n";
	break;
case 'ping':
	echo $c->ping('hello') ? "pong\n" : "no pong\n";
	break;
case 'events':
	if (($argv[2] ?? '') === 'exc')
		$c->enableExceptionHandler();
	$failed = 0;
	$c->setDataCallback(function ($t) { echo "data ", $t->data(), "\n"; });
	$c->setWarningCallback(function ($t) {
		echo "warning ", $t->data(), "\n"; });
	$c->setStatusCallback(function ($t) {
		echo "status ", $t->taskNumerator(), "/",
		    $t->taskDenominator(), "\n"; });
	$c->setExceptionCallback(function ($t) {
		echo "exception ", $t->data(), "\n"; });
	$c->setFailCallback(function ($t) use (&$failed) {
		echo "fail\n"; $failed = 1; });
	$c->setCompleteCallback(function ($t) {
		echo "complete ", $t->data(), "\n"; });
	$c->addTask($argv[0], $argv[1]);
	if (!$c->runTasks()) {
		echo "runTasks ", rc_name($c->returnCode()), "\n";
		exit(1);
	}
	exit($failed);
case 'tasks':
	$f = array_shift($argv);
	$res = [];
	$c->setCompleteCallback(function ($t, $ctx) use (&$res) {
		$res[$ctx] = $t->data(); });
	foreach ($argv as $a)
		$c->addTask($f, $a, $a);
	$c->runTasks();
	sort($argv);
	foreach ($argv as $a)
		echo "$a=", $res[$a] ?? 'MISSING', "\n";
	break;
default:
	fwrite(STDERR, "usage: php-client.php do|bg|status|ustatus|events|tasks|ping\n");
	exit(2);
}
exit(0);
