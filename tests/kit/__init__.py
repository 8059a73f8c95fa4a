"""Test-only helpers shared by the suites and the benchmarks, each concept in one module: the events and context
Lambda hands a function (events), the local cloud as a user starts it (cloud), MiniStack and the dev stack behind
a fault proxy (stacks), fault injection (faults), the process table (processes), the AWS environment
(environment) and polling with a deadline (polling)."""
