import { Component, inject } from '@angular/core';
import { AuthService } from '../core/auth.service';
import { I18nService } from '../core/i18n.service';

/** Who is signed in (oidc, proxy) and, with OpenID Connect, a sign-out button. Nothing in mode none. */
@Component({
  selector: 'app-user-badge',
  template: `
    @if (auth.mode() !== 'none' && auth.state() === 'ready') {
      <span
        class="user"
        data-testid="user-name"
        [attr.aria-label]="i18n.t('auth.user')"
        [title]="groups()"
      >
        {{ auth.displayName() || i18n.t('auth.anonymous') }}
      </span>
      @if (auth.mode() === 'oidc') {
        <button type="button" class="button" data-testid="sign-out" (click)="auth.signOut()">
          {{ i18n.t('auth.signOut') }}
        </button>
      }
    }
  `,
  styles: `
    :host {
      display: inline-flex;
      align-items: center;
      gap: 0.5rem;
    }
    .user {
      font-weight: 600;
      white-space: nowrap;
    }
  `,
})
export class UserBadge {
  protected readonly auth = inject(AuthService);
  protected readonly i18n = inject(I18nService);

  protected groups(): string {
    return (this.auth.me()?.groups ?? []).join(', ');
  }
}
