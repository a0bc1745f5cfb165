<?php
/*
 * PHP gearman extension (php-gearman) worker for the compatibility suites.
 *
 * php-worker.php [-c N] [-i ID] FUNC...     against $GEARMAN_SERVER
 *
 * Functions: rev, upper, echo, fail (WORK_FAIL), exc (WORK_EXCEPTION
 * "boom"), progress (WORK_STATUS 1/2, WORK_DATA "part", WORK_STATUS 2/2,
 * then "done").  -c N exits after N jobs.
 */

$opt = getopt('c:i:', [], $rest);
$funcs = array_slice($_SERVER['argv'], $rest);
$w = new GearmanWorker();
$w->addServers(getenv('GEARMAN_SERVER'));
if (isset($opt['i']))
	$w->setId($opt['i']);
$fn = [
	'rev' => function ($j) { return strrev($j->workload()); },
	'upper' => function ($j) { return strtoupper($j->workload()); },
	'echo' => function ($j) { return $j->workload(); },
	'fail' => function ($j) {
		$j->setReturn(GEARMAN_WORK_FAIL);
		return null;
	},
	'exc' => function ($j) {
		$j->sendException('boom');
		$j->setReturn(GEARMAN_WORK_EXCEPTION);
		return null;
	},
	'progress' => function ($j) {
		$j->sendStatus(1, 2);
		$j->sendData('part');
		$j->sendStatus(2, 2);
		return 'done';
	},
];
foreach ($funcs as $f) {
	if (!isset($fn[$f])) {
		fwrite(STDERR, "unknown function $f\n");
		exit(2);
	}
	$w->addFunction($f, $fn[$f]);
}
/* work() is false after a failed job too; stop only on other errors. */
$n = 0;
for (;;) {
	if (!$w->work() && !in_array($w->returnCode(), [GEARMAN_WORK_FAIL,
	    GEARMAN_WORK_EXCEPTION, GEARMAN_SUCCESS], true)) {
		fwrite(STDERR, "php-worker: " . $w->error() . "\n");
		exit(1);
	}
	if (isset($opt['c']) && ++$n >= (int)$opt['c'])
		break;
}
exit(0);
