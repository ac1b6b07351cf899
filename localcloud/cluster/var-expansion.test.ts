import { expect } from 'chai';
import { expandVars } from './var-expansion.js';

describe('$(VAR) expansion', () => {
  const vars: Record<string, string> = { POD_NAME: 'web-1', PORT: '8080', EMPTY: '' };
  const lookup = (name: string) => vars[name];
  const cases: { name: string; input: string; want: string }[] = [
    { name: 'replaces a defined variable', input: '--name=$(POD_NAME)', want: '--name=web-1' },
    { name: 'replaces several in one string', input: '$(POD_NAME):$(PORT)', want: 'web-1:8080' },
    { name: 'replaces a variable defined as empty', input: 'x$(EMPTY)y', want: 'xy' },
    { name: 'keeps an undefined reference as written', input: '$(NOPE)-$(PORT)', want: '$(NOPE)-8080' },
    { name: 'turns $$ into one dollar, so $$(VAR) is literal', input: '$$(PORT) costs $$5', want: '$(PORT) costs $5' },
    { name: 'keeps an unterminated reference', input: 'a$(PORT', want: 'a$(PORT' },
    { name: 'keeps a dollar not followed by a parenthesis', input: '$PORT and $', want: '$PORT and $' },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(expandVars(tc.input, lookup)).to.equal(tc.want);
    });
  }
});
