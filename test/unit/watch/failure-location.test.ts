import { describe, expect, it } from "vitest";
import { locateMigration, locateRequirement, locateTraceback } from "../../../src/watch/failure-location.js";

const APP = "/opt/render/project/src";

const MIGRATE_OUTPUT = `Operations to perform:
  Apply all migrations: admin, auth, blog, contenttypes, sessions
Running migrations:
  Applying blog.0002_post_title...Traceback (most recent call last):
  File "/opt/render/project/.venv/lib/python3.11/site-packages/django/db/backends/utils.py", line 105, in _execute
    return self.cursor.execute(sql, params)
psycopg2.errors.DuplicateColumn: column "title" of relation "blog_post" already exists

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/opt/render/project/src/manage.py", line 22, in <module>
    main()
  File "/opt/render/project/.venv/lib/python3.11/site-packages/django/db/backends/utils.py", line 105, in _execute
    return self.cursor.execute(sql, params)
django.db.utils.ProgrammingError: column "title" of relation "blog_post" already exists
`;

describe("locateTraceback", () => {
  it("takes the innermost frame in the app and the exception line", () => {
    const output = `Traceback (most recent call last):
  File "/opt/render/project/src/manage.py", line 22, in <module>
    main()
  File "/opt/render/project/src/blog/migrations/0003_fill.py", line 9, in fill
    Post.objects.create(titel="x")
  File "/opt/render/project/.venv/lib/python3.11/site-packages/django/db/models/manager.py", line 87, in manager_method
    return getattr(self.get_queryset(), name)(*args, **kwargs)
TypeError: Post() got unexpected keyword arguments: 'titel'
`;
    expect(locateTraceback(output, APP)).toEqual({
      file: "blog/migrations/0003_fill.py",
      line: 9,
      message: "TypeError: Post() got unexpected keyword arguments: 'titel'",
    });
  });

  it("is null without a frame in the app", () => {
    expect(locateTraceback("ERROR: something\n", APP)).toBeNull();
  });
});

describe("locateMigration", () => {
  it("names the migration being applied when no project frame is in a migration", () => {
    const location = locateMigration(MIGRATE_OUTPUT, APP, ["blog/views.py", "blog/migrations/0002_post_title.py"]);
    expect(location).toEqual({
      file: "blog/migrations/0002_post_title.py",
      line: null,
      message: 'django.db.utils.ProgrammingError: column "title" of relation "blog_post" already exists',
    });
  });

  it("guesses app/migrations/<name>.py when the file was not in the batch", () => {
    expect(locateMigration(MIGRATE_OUTPUT, APP, [])?.file).toBe("blog/migrations/0002_post_title.py");
  });
});

describe("locateRequirement", () => {
  const files = new Map([["requirements.txt", "Django==5.0\ngunicorn\n# comment\nrequests_toolbelt==99.0\n"]]);

  it("finds pip's unsatisfiable requirement by its canonical name", () => {
    const output = `ERROR: Could not find a version that satisfies the requirement requests-toolbelt==99.0 (from versions: 0.1.0, 1.0.0)
ERROR: No matching distribution found for requests-toolbelt==99.0`;
    expect(locateRequirement(output, files)).toEqual({
      file: "requirements.txt",
      line: 4,
      message: "Could not find a version that satisfies the requirement requests-toolbelt==99.0 (from versions: 0.1.0, 1.0.0)",
    });
  });

  it("is null when pip names nothing the files list", () => {
    expect(locateRequirement("ERROR: No matching distribution found for nothere", files)).toBeNull();
    expect(locateRequirement("some other failure", files)).toBeNull();
  });
});
