// Kubernetes' $(VAR) references in env values, command and args: $(NAME) becomes NAME's value when defined and
// stays as written otherwise, and $$ escapes a dollar, so "$$(NAME)" yields the literal "$(NAME)".

export function expandVars(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input.charAt(i);
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    const close = next === '(' ? input.indexOf(')', i + 2) : -1;
    if (close < 0) {
      out += c;
      continue;
    }
    const name = input.slice(i + 2, close);
    out += lookup(name) ?? `$(${name})`;
    i = close;
  }
  return out;
}
