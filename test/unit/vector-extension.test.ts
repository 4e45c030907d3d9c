/** When the deploy updates `vector`: only to a later version than the installed one, never backwards. */
import { isNewerVersion } from '../../lambda/migrate-handler/extensions';

describe('isNewerVersion', () => {
  it.each([
    ['0.8.1', '0.8.0', true],
    ['0.8.0', '0.7.4', true],
    ['0.10.0', '0.9.1', true], // numerically, not as text
    ['1.0', '0.8.1', true],
    ['0.8.0', '0.8.0', false],
    ['0.8', '0.8.0', false],
    ['0.7.4', '0.8.0', false], // the server offers an older default: no update path, leave it
  ])('%s over %s: %s', (available, installed, expected) => {
    expect(isNewerVersion(available, installed)).toBe(expected);
  });
});
