// The rule language and the Authorizer's semantics, as a table of cases in the spirit of Consul's
// acl/policy_authorizer_test.go: exact beats prefix, longest prefix wins, deny wins at equal
// specificity across policies, write implies read, intentions follow service rules, mesh follows
// operator, the default decides the rest (never ACL management).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Authorizer, type Resource, type Want } from '../../src/acl/authorizer.js';
import { parseRules } from '../../src/acl/rules.js';
import { GLOBAL_MANAGEMENT_RULES } from '../../src/acl/model.js';
import { serviceIdentityRules, nodeIdentityRules } from '../../src/acl/resolve.js';
import { ValidationError } from '../../src/core/errors.js';

type Case = readonly [resource: Resource, want: Want, name: string, expected: boolean];

function check(policies: readonly string[], def: 'allow' | 'deny', cases: readonly Case[]): void {
  const a = new Authorizer(policies.map((p) => parseRules(p)), def);
  for (const [resource, want, name, expected] of cases) {
    assert.equal(a.allows(resource, want, name), expected, `${resource}:${want} on "${name}" with default ${def}`);
  }
}

test('exact beats prefix, longest prefix wins, write implies read, the default decides the rest', () => {
  const rules = `
    service_prefix "" { policy = "read" }
    service_prefix "web" { policy = "write" }   # longer prefix
    service_prefix "web-admin" { policy = "deny" }
    service "web-admin-ok" { policy = "read" }  // exact beats every prefix
    /* node rules */
    node "n1" { policy = "write" }
  `;
  check([rules], 'deny', [
    ['service', 'read', 'db', true],
    ['service', 'write', 'db', false],
    ['service', 'write', 'web', true],
    ['service', 'read', 'web-1', true],
    ['service', 'write', 'web-1', true],
    ['service', 'read', 'web-admin', false],
    ['service', 'read', 'web-admin-x', false],
    ['service', 'read', 'web-admin-ok', true],
    ['service', 'write', 'web-admin-ok', false],
    ['node', 'write', 'n1', true],
    ['node', 'read', 'n2', false],
    ['agent', 'read', 'n1', false],
    ['operator', 'read', '', false],
  ]);
  check([rules], 'allow', [
    ['node', 'write', 'n2', true],
    ['operator', 'write', '', true],
    ['service', 'read', 'web-admin', false],
    // ACL management is never granted by default_policy allow (Consul's allow-all does not manage ACLs).
    ['acl', 'read', '', false],
  ]);
});

test('across policies deny wins at equal specificity, write beats read; a more specific rule still decides', () => {
  check(['service "web" { policy = "read" }', 'service "web" { policy = "write" }'], 'deny', [['service', 'write', 'web', true]]);
  check(['service "web" { policy = "write" }', 'service "web" { policy = "deny" }'], 'allow', [['service', 'read', 'web', false]]);
  check(['service_prefix "" { policy = "deny" }', 'service "web" { policy = "read" }'], 'allow', [
    ['service', 'read', 'web', true],
    ['service', 'read', 'api', false],
  ]);
});

test('intentions: explicit levels, implied read from service read/write, none from deny', () => {
  check([`service "web" { policy = "read" }
service "db" { policy = "write"
  intentions = "write" }
service "x" { policy = "deny" }
service "i" { intentions = "read" }`], 'deny', [
    ['intention', 'read', 'web', true],
    ['intention', 'write', 'web', false],
    ['intention', 'write', 'db', true],
    ['intention', 'read', 'x', false],
    ['intention', 'read', 'i', true],
    // a rule naming only intentions decides nothing about the service
    ['service', 'read', 'i', false],
  ]);
});

test('scalar rules: operator, mesh following operator unless set, acl; key list', () => {
  check(['operator = "read"'], 'deny', [
    ['operator', 'read', '', true],
    ['operator', 'write', '', false],
    ['mesh', 'read', '', true],
    ['mesh', 'write', '', false],
  ]);
  check(['operator = "write"\nmesh = "deny"\nacl = "read"'], 'allow', [
    ['mesh', 'read', '', false],
    ['acl', 'read', '', true],
    ['acl', 'write', '', false],
  ]);
  check(['key_prefix "a/" { policy = "list" }'], 'deny', [
    ['key', 'list', 'a/b', true],
    ['key', 'read', 'a/b', true],
    ['key', 'write', 'a/b', false],
  ]);
});

test('JSON rules mean the same as HCL, in both of HCL-JSON\'s block forms', () => {
  const json = JSON.stringify({ service: { web: { policy: 'write' } }, service_prefix: [{ '': [{ policy: 'read' }] }], acl: 'read' });
  check([json], 'deny', [
    ['service', 'write', 'web', true],
    ['service', 'read', 'db', true],
    ['service', 'write', 'db', false],
    ['acl', 'read', '', true],
  ]);
});

test('global-management allows everything; service and node identities grant what Consul\'s templates do', () => {
  check([GLOBAL_MANAGEMENT_RULES], 'deny', [
    ['acl', 'write', '', true],
    ['service', 'write', 'any', true],
    ['intention', 'write', 'any', true],
    ['node', 'write', 'any', true],
    ['mesh', 'write', '', true],
  ]);
  check([serviceIdentityRules('web')], 'deny', [
    ['service', 'write', 'web', true],
    ['service', 'write', 'web-sidecar-proxy', true],
    ['service', 'write', 'db', false],
    ['service', 'read', 'db', true],
    ['node', 'read', 'n1', true],
    ['intention', 'read', 'web', true],
    ['intention', 'write', 'web', false],
  ]);
  check([nodeIdentityRules('n1')], 'deny', [
    ['node', 'write', 'n1', true],
    ['node', 'write', 'n2', false],
    ['service', 'read', 'x', true],
  ]);
});

function rejects(rules: string, expected: RegExp): void {
  assert.throws(() => parseRules(rules), (err: unknown) => err instanceof ValidationError && expected.test(err.message), `rules ${JSON.stringify(rules)} should fail with ${expected}`);
}

test('bad rules are rejected naming the line, the field or the value', () => {
  rejects('service "web" {\n  policy = "reed"\n}', /Rules: service "web"\.policy: invalid access level "reed"/);
  rejects('service "web" {\n  policy = "read"\n', /Rules: cannot be parsed: line 3, column 1: expected an attribute or block name, found end of input/);
  rejects('services "web" { policy = "read" }', /Rules: services: unknown rule/);
  rejects('service "web" { polcy = "read" }', /Rules: service "web"\.polcy: unknown field/);
  rejects('service "web" { }', /service "web"\.policy: is required/);
  rejects('node "n" { policy = "list" }', /node "n"\.policy: invalid access level "list"/);
  rejects('node "n" { intentions = "read" }', /node "n"\.intentions: unknown field/);
  rejects('operator = "admin"', /operator: invalid access level "admin"/);
  rejects('acl = "read"\nacl = "write"', /line 2, column 1: "acl" is set more than once/);
  rejects('service "a" { policy = "read }', /line 1, column 24: unterminated string/);
  rejects('{"service": 3}', /Rules: service: must be a block/);
  rejects('{"service": ', /Rules: cannot be parsed/);
});
