import { expect } from 'chai';
import { kubevirtInstanceData, renderJinja } from './jinja.js';

describe('guest jinja (the subset cloud-init applies to userdata)', () => {
  const data = kubevirtInstanceData({ vmName: 'acme-md-0-x7k2p', namespace: 'tenants' });
  const cases: { name: string; template: string; want: string }[] = [
    { name: 'renders ds.meta_data.local_hostname as the VM name', template: "name: '{{ ds.meta_data.local_hostname }}'", want: "name: 'acme-md-0-x7k2p'" },
    { name: 'renders v1.local_hostname without spaces', template: 'kubevirt://{{v1.local_hostname}}', want: 'kubevirt://acme-md-0-x7k2p' },
    { name: 'renders the instance id', template: '{{ v1.instance_id }}', want: 'acme-md-0-x7k2p.tenants' },
    { name: 'marks a variable the instance data lacks the way cloud-init does', template: 'ip={{ ds.meta_data.local_ipv4 }}', want: 'ip=CI_MISSING_JINJA_VAR/ds.meta_data.local_ipv4' },
    { name: 'drops comments', template: 'a{# note #}b', want: 'ab' },
    { name: 'honours whitespace control', template: 'a\n  {{- v1.local_hostname -}}  \nb', want: 'aacme-md-0-x7k2pb' },
    { name: 'leaves single braces and shell ${VARS} alone', template: 'echo ${HOME} {x}', want: 'echo ${HOME} {x}' },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(renderJinja(tc.template, data)).to.equal(tc.want);
    });
  }

  it('refuses statements and expressions it cannot render faithfully', () => {
    expect(() => renderJinja('{% if v1.cloud_name == "aws" %}x{% endif %}', data)).to.throw(/statement .* not supported/);
    expect(() => renderJinja('{{ ds.meta_data.local_hostname.split(".")[0] }}', data)).to.throw(/not a plain variable/);
    expect(() => renderJinja('{{ v1.local_hostname', data)).to.throw(/unterminated/);
  });
});
