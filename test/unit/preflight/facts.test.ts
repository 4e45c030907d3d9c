/**
 * The pure parts of the preflight: intrinsics over pseudo parameters resolved for the target, or left
 * unknown; SES addresses and the identities that cover them.
 */
import { partitionOf, resolve } from '../../../lib/preflight/facts';
import { fromAddress, identityCovers, parseIdentityArn } from '../../../lib/preflight/checks/ses-identity';

const TARGET = { account: '123456789012', region: 'eu-west-1' };

test('resolves literals and intrinsics over pseudo parameters', () => {
  expect(resolve('saas-dev-login', TARGET)).toBe('saas-dev-login');
  expect(resolve(20, TARGET)).toBe('20');
  expect(resolve({ Ref: 'AWS::AccountId' }, TARGET)).toBe('123456789012');
  expect(resolve({ 'Fn::Join': ['-', ['saas', { Ref: 'AWS::Region' }, { 'Fn::Join': ['', ['x', { Ref: 'AWS::AccountId' }]] }]] }, TARGET)).toBe(
    'saas-eu-west-1-x123456789012',
  );
  expect(resolve({ 'Fn::Sub': 'arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/a.com' }, TARGET)).toBe(
    'arn:aws:ses:eu-west-1:123456789012:identity/a.com',
  );
  expect(resolve({ 'Fn::Sub': '${AWS::URLSuffix}' }, { ...TARGET, region: 'cn-north-1' })).toBe('amazonaws.com.cn');
});

test('leaves unknown what depends on resources or parameters', () => {
  expect(resolve({ Ref: 'UserPool' }, TARGET)).toBeUndefined();
  expect(resolve({ 'Fn::GetAtt': ['Pool', 'Arn'] }, TARGET)).toBeUndefined();
  expect(resolve({ 'Fn::Join': ['', ['a', { Ref: 'Param' }]] }, TARGET)).toBeUndefined();
  expect(resolve({ 'Fn::Sub': 'a-${Param}' }, TARGET)).toBeUndefined();
  expect(resolve({ 'Fn::Sub': ['a-${X}', { X: 'b' }] }, TARGET)).toBeUndefined();
  expect(resolve({ Ref: 'AWS::AccountId', Extra: 1 }, TARGET)).toBeUndefined();
  expect(resolve(undefined, TARGET)).toBeUndefined();
});

test('partitions', () => {
  expect(['eu-west-1', 'cn-north-1', 'us-gov-west-1'].map(partitionOf)).toEqual(['aws', 'aws-cn', 'aws-us-gov']);
});

test('SES identity ARNs, From addresses and what an identity covers', () => {
  expect(parseIdentityArn('arn:aws:ses:us-east-1:123456789012:identity/example.com')).toEqual({ region: 'us-east-1', account: '123456789012', identity: 'example.com' });
  expect(parseIdentityArn('arn:aws:sns:us-east-1:123456789012:topic')).toBeUndefined();
  expect(fromAddress('Example Corp <No-Reply@Example.com>')).toBe('no-reply@example.com');
  expect(fromAddress(' no-reply@example.com ')).toBe('no-reply@example.com');
  expect(identityCovers('example.com', 'a@example.com')).toBe(true);
  expect(identityCovers('example.com', 'a@mail.example.com')).toBe(true);
  expect(identityCovers('example.com', 'a@badexample.com')).toBe(false);
  expect(identityCovers('A@Example.com', 'a@example.com')).toBe(true);
  expect(identityCovers('a@example.com', 'b@example.com')).toBe(false);
});
