import { describe, expect, it } from "vitest";
import { lastMeaningfulLine, parseMarked, RESULT_MARKER, shellQuote } from "../../../src/scenarios/app-shell.js";
import { mediaVerdict, remoteVerdict, type SavedProbe } from "../../../src/scenarios/media-ephemeral.js";

const onDisk: SavedProbe = {
  storage: "django.core.files.storage.filesystem.FileSystemStorage",
  mediaRoot: "/opt/render/project/src/media",
  name: "prodlike-check/wake-probe-abc.png",
  exists: true,
  localPath: "/opt/render/project/src/media/prodlike-check/wake-probe-abc.png",
  deleted: false,
};

describe("mediaVerdict", () => {
  it("fails when the file is gone after the wake, naming the storage, the file and both answers", () => {
    const verdict = mediaVerdict(onDisk, { exists: false, deleted: false }, 4200);
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toContain("(FileSystemStorage) was gone");
    expect(verdict.evidence).toEqual([
      "default storage: django.core.files.storage.filesystem.FileSystemStorage, MEDIA_ROOT /opt/render/project/src/media, file at /opt/render/project/src/media/prodlike-check/wake-probe-abc.png",
      "saved prodlike-check/wake-probe-abc.png: exists() → True",
      "spun down, woke in a fresh container (4.2 s): exists() → False",
    ]);
    expect(verdict.fix).toMatch(/Cloudinary/);
  });

  it("passes for a local disk that kept the file (a persistent disk), and says it was cleaned up", () => {
    const verdict = mediaVerdict(onDisk, { exists: true, deleted: true }, 900);
    expect(verdict.status).toBe("pass");
    expect(verdict.evidence.at(-1)).toBe("removed prodlike-check/wake-probe-abc.png again");
  });
});

describe("remoteVerdict", () => {
  const remote: SavedProbe = { ...onDisk, storage: "cloudinary_storage.storage.MediaCloudinaryStorage", localPath: null, name: "media/prodlike-check/wake-probe-abc_x1y2z3", deleted: true };

  it("passes for a storage off the instance's disk, and says the probe was removed", () => {
    const verdict = remoteVerdict(remote);
    expect(verdict.status).toBe("pass");
    expect(verdict.summary).toBe("default_storage (MediaCloudinaryStorage) keeps uploads off the instance's ephemeral disk");
    expect(verdict.evidence[0]).toBe("default storage: cloudinary_storage.storage.MediaCloudinaryStorage (not on the local disk)");
    expect(verdict.evidence.at(-1)).toBe("removed media/prodlike-check/wake-probe-abc_x1y2z3 again");
  });

  it("fails when the storage does not have the file right after saving it", () => {
    expect(remoteVerdict({ ...remote, exists: false, deleted: false }).status).toBe("fail");
  });
});

describe("the app-shell helpers", () => {
  it("reads the last marked JSON line, ignoring Django's own output", () => {
    const stdout = `2 objects imported automatically\nINFO something\n${RESULT_MARKER}{"a":1}\n${RESULT_MARKER}{"a":2}\n`;
    expect(parseMarked(stdout)).toEqual({ a: 2 });
    expect(parseMarked("no marker here")).toBeUndefined();
    expect(parseMarked(`${RESULT_MARKER}{broken`)).toBeUndefined();
  });

  it("quotes for bash only what needs it", () => {
    expect(shellQuote("python")).toBe("python");
    expect(shellQuote("print('x')")).toBe(`'print('\\''x'\\'')'`);
    expect(lastMeaningfulLine("Traceback\n  File x\nValueError: bad\n\n")).toBe("ValueError: bad");
  });
});
