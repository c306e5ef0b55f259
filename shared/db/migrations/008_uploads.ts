import type { Knex } from 'knex';

/**
 * `uploads`: every signed upload URL handed out (POST /uploads), so a job may take a gs:// input
 * only when it names an upload of its own tenant. The object's key is
 * `<tenant_id>/<id>/<filename>` in the uploads bucket. `expires_at` is when the URL stops
 * working; an object uploaded before then stays usable until the bucket's lifecycle removes it.
 */
export async function up(k: Knex): Promise<void> {
  await k.schema.createTable('uploads', (t) => {
    t.uuid('id').primary();
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('filename').notNullable();
    t.text('content_type').notNullable();
    t.bigInteger('size_bytes').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
  });
  // Submit looks an upload up by its id (the primary key) and checks the tenant on the row.
  await k.raw('ALTER TABLE uploads ADD CONSTRAINT uploads_size_check CHECK (size_bytes > 0)');
}

export async function down(k: Knex): Promise<void> {
  await k.schema.dropTableIfExists('uploads');
}
