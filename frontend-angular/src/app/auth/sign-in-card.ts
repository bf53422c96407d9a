import { Component, inject } from '@angular/core';
import { AuthService } from '../core/auth.service';
import { I18nService } from '../core/i18n.service';

/** Shown instead of the chat when nobody is signed in, the session expired, or sign-in is unavailable. */
@Component({
  selector: 'app-sign-in-card',
  template: `
    <section class="card" data-testid="sign-in-card" role="status">
      @switch (auth.state()) {
        @case ('loading') {
          <p>{{ i18n.t('auth.loading') }}</p>
        }
        @case ('error') {
          <p>{{ i18n.t('auth.error') }}</p>
          <button type="button" class="button primary" data-testid="auth-retry" (click)="retry()">
            {{ i18n.t('auth.retry') }}
          </button>
        }
        @default {
          <p>{{ i18n.t(auth.state() === 'expired' ? 'auth.expired' : 'auth.required') }}</p>
          <button
            type="button"
            class="button primary"
            data-testid="sign-in"
            (click)="auth.signIn()"
          >
            {{ i18n.t('auth.signIn') }}
          </button>
        }
      }
    </section>
  `,
  styles: `
    :host {
      display: grid;
      place-items: center;
      min-height: 60vh;
      padding: 1rem;
    }
    .card {
      max-width: 28rem;
      text-align: center;
      padding: 2rem;
      border: 1px solid #d0d7de;
      border-radius: 0.5rem;
    }
  `,
})
export class SignInCard {
  protected readonly auth = inject(AuthService);
  protected readonly i18n = inject(I18nService);

  protected retry(): void {
    window.location.reload();
  }
}
