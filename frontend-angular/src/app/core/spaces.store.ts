import { Injectable, inject, signal } from '@angular/core';
import { ApiService } from './api.service';
import { SpaceInfo } from './models';

/** The spaces present in the index (GET /api/spaces) and the space the user filters on. */
@Injectable({ providedIn: 'root' })
export class SpacesStore {
  private readonly api = inject(ApiService);
  readonly spaces = signal<SpaceInfo[]>([]);
  readonly failed = signal(false);
  /** '' means all spaces. */
  readonly selected = signal('');

  async load(): Promise<void> {
    try {
      this.spaces.set(await this.api.spaces());
      this.failed.set(false);
    } catch {
      this.failed.set(true);
    }
  }

  /** The `spaces` field of a chat request, or undefined for all spaces. */
  filter(): string[] | undefined {
    const key = this.selected();
    return key ? [key] : undefined;
  }
}
