// One etcd connection per DataStore, shared by every TenantControlPlane on it and rebuilt when the DataStore's
// endpoints or credentials change; closed when the operator stops.
import { EtcdDriver } from './etcd-driver.js';
import type { DataStoreCredentials } from './credentials.js';

export class DriverPool {
  private readonly drivers = new Map<string, { fingerprint: string; driver: EtcdDriver }>();

  driverFor(dataStoreName: string, creds: DataStoreCredentials): EtcdDriver {
    const existing = this.drivers.get(dataStoreName);
    if (existing?.fingerprint === creds.fingerprint) return existing.driver;
    existing?.driver.close();
    const driver = new EtcdDriver({
      endpoints: creds.endpoints,
      tls: { ca: creds.caCert, cert: creds.clientCert, key: creds.clientKey },
      basicAuth: creds.basicAuth,
    });
    this.drivers.set(dataStoreName, { fingerprint: creds.fingerprint, driver });
    return driver;
  }

  forget(dataStoreName: string): void {
    this.drivers.get(dataStoreName)?.driver.close();
    this.drivers.delete(dataStoreName);
  }

  close(): void {
    for (const { driver } of this.drivers.values()) driver.close();
    this.drivers.clear();
  }
}
