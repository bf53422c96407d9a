import { ComponentFixture, TestBed } from '@angular/core/testing';
import { job } from '../../testing/fixtures';
import { ApiError } from '../core/api-error';
import { ApiService } from '../core/api.service';
import { ADMIN_TOKEN_STORAGE_KEY } from '../core/admin-token.store';
import { INGEST_POLL_INTERVAL_MS, IngestPanel } from './ingest-panel';

describe('IngestPanel', () => {
  let fixture: ComponentFixture<IngestPanel>;
  let el: HTMLElement;
  let api: ApiService;

  const q = <T extends HTMLElement = HTMLElement>(testId: string) =>
    el.querySelector<T>(`[data-testid="${testId}"]`);

  async function fill(testId: string, value: string) {
    const input = q<HTMLInputElement>(testId)!;
    input.value = value;
    input.dispatchEvent(new Event('input'));
    await fixture.whenStable();
  }

  async function settle() {
    for (let i = 0; i < 3; i++) await Promise.resolve();
    await fixture.whenStable();
  }

  beforeEach(async () => {
    TestBed.configureTestingModule({ providers: [{ provide: INGEST_POLL_INTERVAL_MS, useValue: 20 }] });
    sessionStorage.clear();
    localStorage.clear();
    api = TestBed.inject(ApiService);
    vi.spyOn(api, 'spaces').mockResolvedValue([]);
    vi.spyOn(api, 'listJobs').mockResolvedValue([]);
  });

  async function create() {
    fixture = TestBed.createComponent(IngestPanel);
    el = fixture.nativeElement;
    await fixture.whenStable();
  }

  it('keeps the admin token in sessionStorage, not localStorage', async () => {
    await create();
    expect(q<HTMLInputElement>('admin-token')!.type).toBe('password');
    await fill('admin-token', 's3cret');
    expect(sessionStorage.getItem(ADMIN_TOKEN_STORAGE_KEY)).toBe('s3cret');
    expect(localStorage.getItem(ADMIN_TOKEN_STORAGE_KEY)).toBeNull();
  });

  it('lists recent jobs on open when a token is stored', async () => {
    sessionStorage.setItem(ADMIN_TOKEN_STORAGE_KEY, 'tok');
    vi.mocked(api.listJobs).mockResolvedValue([job({ id: 'a', space_key: 'RH', status: 'succeeded', pages_done: 10 })]);
    await create();
    await settle();
    expect(api.listJobs).toHaveBeenCalledWith('tok');
    expect(el.querySelectorAll('[data-testid="job-row"]')).toHaveLength(1);
    expect(q('jobs-table')?.textContent).toContain('Terminée');
  });

  it('needs a token and a space key before Synchroniser is enabled', async () => {
    await create();
    expect(q<HTMLButtonElement>('sync-button')!.disabled).toBe(true);
    await fill('admin-token', 't');
    await fill('space-key', 'RH');
    expect(q<HTMLButtonElement>('sync-button')!.disabled).toBe(false);
  });

  it('polls every second by default', () => {
    TestBed.resetTestingModule();
    expect(TestBed.inject(INGEST_POLL_INTERVAL_MS)).toBe(1000);
  });

  it('starts a job, polls it, shows progress then the final counts', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const start = vi.spyOn(api, 'startJob').mockResolvedValue(job({ status: 'queued', pages_total: 0 }));
    const getJob = vi
      .spyOn(api, 'getJob')
      .mockResolvedValueOnce(job({ status: 'running', pages_total: 10, pages_done: 4 }))
      .mockImplementationOnce(async () => {
        await gate; // hold the job "running" until the progress was checked
        return job({ status: 'succeeded', pages_total: 10, pages_done: 10, pages_added: 7, pages_updated: 2, pages_unchanged: 1, chunks_written: 33, duration_s: 2.5 });
      });
    await create();
    await fill('admin-token', 'tok');
    await fill('space-key', ' RH ');
    q<HTMLButtonElement>('sync-button')!.click();
    await settle();

    expect(start).toHaveBeenCalledWith('tok', 'RH', false);
    expect(q('job-status')?.textContent).toContain('En attente');
    expect(q<HTMLButtonElement>('sync-button')!.disabled).toBe(true);

    await vi.waitFor(async () => {
      await fixture.whenStable();
      expect(q('job-pages')?.textContent).toContain('4 / 10 pages');
    });
    expect(getJob).toHaveBeenCalledWith('tok', 'job1');
    expect(q<HTMLProgressElement>('job-progress')!.getAttribute('value')).toBe('4');
    expect(q<HTMLProgressElement>('job-progress')!.getAttribute('max')).toBe('10');

    release();
    await vi.waitFor(async () => {
      await fixture.whenStable();
      expect(q('current-job')?.getAttribute('data-status')).toBe('succeeded');
    });
    expect(getJob).toHaveBeenCalledTimes(2);
    const counts = q('job-counts')!.textContent!;
    expect(counts).toContain('7');
    expect(counts).toContain('33');

    await new Promise((r) => setTimeout(r, 100));
    expect(getJob).toHaveBeenCalledTimes(2); // polling stopped
  });

  it('shows the server detail of a refused start (401)', async () => {
    vi.spyOn(api, 'startJob').mockRejectedValue(new ApiError(401, 'invalid admin token'));
    await create();
    await fill('admin-token', 'bad');
    await fill('space-key', 'RH');
    q<HTMLButtonElement>('sync-button')!.click();
    await settle();
    expect(q('ingest-error')?.textContent).toContain('invalid admin token');
  });

  it('shows the error of a failed job', async () => {
    vi.spyOn(api, 'startJob').mockResolvedValue(job({ status: 'running' }));
    vi.spyOn(api, 'getJob').mockResolvedValue(job({ status: 'failed', error: 'Confluence: 404 space not found' }));
    await create();
    await fill('admin-token', 'tok');
    await fill('space-key', 'NOPE');
    q<HTMLButtonElement>('sync-button')!.click();
    await vi.waitFor(async () => {
      await fixture.whenStable();
      expect(q('job-status')?.textContent).toContain('Échec');
    });
    expect(q('job-error')?.textContent).toContain('404 space not found');
  });

  it('lists the permission data that could not be read, pages denied', async () => {
    vi.spyOn(api, 'startJob').mockResolvedValue(job({ status: 'running' }));
    vi.spyOn(api, 'getJob').mockResolvedValue(
      job({ status: 'succeeded', access_pages_updated: 3, access_problems: ['space HR: space permissions unreadable (500)'] }),
    );
    await create();
    await fill('admin-token', 'tok');
    await fill('space-key', 'HR');
    q<HTMLButtonElement>('sync-button')!.click();
    await vi.waitFor(async () => {
      await fixture.whenStable();
      expect(q('job-access-problem')?.textContent).toContain('space permissions unreadable (500)');
    });
    expect(q('job-counts')!.textContent).toContain('droits de lecture mis à jour3');
  });
});
