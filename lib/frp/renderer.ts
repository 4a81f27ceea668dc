import { FrpcConfig, renderFrpcToml } from './client-config';
import { FrpsConfig, renderFrpsToml } from './server-config';

/**
 * Renders frp configuration files from typed configs, enforcing frp v0.70.1's
 * rules (a config frp would reject is an error here). Use it directly to write
 * the frpc.toml of machines outside the cluster.
 */
export class FrpConfigRenderer {
  /**
   * Renders frps.toml.
   * @param config the server config
   * @param where prefix for error messages (e.g. a construct path)
   */
  public static renderServer(config: FrpsConfig, where?: string): string {
    return renderFrpsToml(where, config);
  }

  /**
   * Renders frpc.toml.
   * @param config the client config
   * @param where prefix for error messages (e.g. a construct path)
   */
  public static renderClient(config: FrpcConfig, where?: string): string {
    return renderFrpcToml(where, config);
  }

  private constructor() {}
}
