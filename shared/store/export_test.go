package store

// Transact exposes transact to the tests of its limits.
var Transact = (*Store).transact
