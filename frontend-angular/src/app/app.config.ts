import {
  ApplicationConfig,
  inject,
  provideAppInitializer,
  provideBrowserGlobalErrorListeners,
} from '@angular/core';
import { provideHttpClient, withFetch } from '@angular/common/http';
import { provideRouter } from '@angular/router';
import { StsConfigHttpLoader, StsConfigLoader, provideAuth } from 'angular-auth-oidc-client';
import { from, map } from 'rxjs';
import { AuthService, oidcClientConfig } from './core/auth.service';

export const appConfig: ApplicationConfig = {
  providers: [
    provideBrowserGlobalErrorListeners(),
    // angular-auth-oidc-client talks to the identity provider with HttpClient and needs a router.
    provideHttpClient(withFetch()),
    provideRouter([{ path: '**', children: [] }]),
    provideAuth({
      loader: {
        provide: StsConfigLoader,
        useFactory: (auth: AuthService) =>
          new StsConfigHttpLoader(
            from(auth.loadConfig()).pipe(
              map((config) => oidcClientConfig(config, window.location.origin)),
            ),
          ),
        deps: [AuthService],
      },
    }),
    provideAppInitializer(() => inject(AuthService).init()),
  ],
};
