package io.herd.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Builds container images for tests, in the three forms herd-vm reads: an OCI image layout
 * directory ({@link #writeOciLayout}), the same layout as a tarball ({@link #writeOciArchive}),
 * and a {@code docker save} tarball ({@link #writeDockerArchive}). Layers are lists of {@link
 * Entry entries} — files, directories, symlinks, hard links, whiteouts, opaque whiteouts — written
 * verbatim, so a test can also build the hostile layers a real image could carry ({@code
 * ../escape}, {@code /absolute}, a symlink followed by a file beneath it).
 *
 * <p>Output is deterministic: fixed mtimes, numeric owners, no user names, gzip without a
 * timestamp; the same builder writes the same bytes, so digests are stable across runs. Not
 * thread-safe; a builder may write any number of images.
 */
public final class OciImageBuilder {

  /** The mtime of entries that set none: 2020-01-01T00:00:00Z. */
  public static final Instant DEFAULT_MTIME = Instant.parse("2020-01-01T00:00:00Z");

  static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  static final String LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
  static final String LAYER_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";

  /** Each layer as an uncompressed tar. */
  private final List<byte[]> layers = new ArrayList<>();
  private List<String> entrypoint;
  private List<String> cmd;
  private final List<String> env = new ArrayList<>();
  private String workingDir;
  private String user;
  private final List<String> exposedPorts = new ArrayList<>();
  private boolean gzip = true;
  private String mediaTypeOverride;
  private List<String> platforms = List.of();

  private OciImageBuilder() {}

  public static OciImageBuilder create() {
    return new OciImageBuilder();
  }

  /** Adds a layer on top of those added before. */
  public OciImageBuilder layer(Entry... entries) {
    layers.add(layerTar(List.of(entries)));
    return this;
  }

  /**
   * Adds a layer given as a ready-made uncompressed tar, e.g. one GNU tar wrote (sparse files,
   * GNU long names), to test readers against a real archiver's output.
   */
  public OciImageBuilder layerTar(byte[] tar) {
    layers.add(tar.clone());
    return this;
  }

  /** {@code Entrypoint}; unset (absent from the config) unless called. */
  public OciImageBuilder entrypoint(String... argv) {
    this.entrypoint = List.of(argv);
    return this;
  }

  /** {@code Cmd}; unset (absent from the config) unless called. */
  public OciImageBuilder cmd(String... argv) {
    this.cmd = List.of(argv);
    return this;
  }

  /** Appends {@code KEY=VALUE} strings to {@code Env}. */
  public OciImageBuilder env(String... keyValues) {
    env.addAll(Arrays.asList(keyValues));
    return this;
  }

  public OciImageBuilder workingDir(String dir) {
    this.workingDir = dir;
    return this;
  }

  public OciImageBuilder user(String user) {
    this.user = user;
    return this;
  }

  /** Keys of {@code ExposedPorts}, as images write them: {@code "8080/tcp"}, {@code "53/udp"}. */
  public OciImageBuilder exposedPorts(String... ports) {
    exposedPorts.addAll(Arrays.asList(ports));
    return this;
  }

  /** Whether layers are gzip-compressed (the default, as registries serve them) or plain tars. */
  public OciImageBuilder gzip(boolean gzip) {
    this.gzip = gzip;
    return this;
  }

  /**
   * Writes {@code mediaType} for every layer in OCI manifests instead of the true one, to test how
   * readers treat media types they cannot read (e.g. {@code
   * application/vnd.oci.image.layer.v1.tar+zstd}).
   */
  public OciImageBuilder layerMediaType(String mediaType) {
    this.mediaTypeOverride = mediaType;
    return this;
  }

  /**
   * Makes the OCI index list one manifest per platform ({@code "linux/arm64"}), each with that
   * platform in the index and in its config, as multi-platform images do. Unless called, the index
   * lists one manifest without a platform and the config says linux/amd64, as {@code skopeo copy
   * … oci:DIR} writes a single image.
   */
  public OciImageBuilder platforms(String... osSlashArch) {
    for (String p : osSlashArch) {
      if (p.split("/").length != 2) {
        throw new IllegalArgumentException("platform must be os/arch: " + p);
      }
    }
    this.platforms = List.of(osSlashArch);
    return this;
  }

  /** Writes an OCI image layout into {@code dir} (created; must not exist or be empty). */
  public Path writeOciLayout(Path dir) {
    try {
      Files.createDirectories(dir);
      for (Map.Entry<String, byte[]> f : ociFiles().entrySet()) {
        Path file = dir.resolve(f.getKey());
        Files.createDirectories(file.getParent());
        Files.write(file, f.getValue());
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Writes an OCI image layout as a tarball ({@code skopeo copy … oci-archive:FILE}). */
  public Path writeOciArchive(Path file) {
    return writeTar(file, ociFiles());
  }

  /** Writes a {@code docker save} tarball: manifest.json, {@code <hex>.json}, layer tars. */
  public Path writeDockerArchive(Path file) {
    Map<String, byte[]> files = new LinkedHashMap<>();
    List<String> layerPaths = new ArrayList<>();
    List<String> diffIds = new ArrayList<>();
    for (byte[] tar : layers) {
      String diffId = sha256(tar);
      diffIds.add(diffId);
      String path = diffId.substring("sha256:".length()) + "/layer.tar";
      layerPaths.add(path);
      files.put(path, gzip ? gzip(tar) : tar);
    }
    byte[] config = config("linux", "amd64", diffIds);
    String configName = sha256(config).substring("sha256:".length()) + ".json";
    Map<String, byte[]> ordered = new LinkedHashMap<>();
    ordered.put(
        "manifest.json",
        utf8(
            "[{\"Config\":"
                + json(configName)
                + ",\"RepoTags\":[\"herd-test:latest\"],\"Layers\":"
                + json(layerPaths)
                + "}]"));
    ordered.put(configName, config);
    ordered.putAll(files);
    return writeTar(file, ordered);
  }

  // ---- OCI ---------------------------------------------------------------------------------

  /** The files of the OCI layout, by path; blobs named by digest. */
  private Map<String, byte[]> ociFiles() {
    Map<String, byte[]> blobs = new LinkedHashMap<>();
    List<String> layerDescriptors = new ArrayList<>();
    List<String> diffIds = new ArrayList<>();
    for (byte[] tar : layers) {
      diffIds.add(sha256(tar));
      byte[] blob = gzip ? gzip(tar) : tar;
      String mediaType =
          mediaTypeOverride != null ? mediaTypeOverride : gzip ? LAYER_TAR_GZIP : LAYER_TAR;
      layerDescriptors.add(descriptor(mediaType, blob, ""));
      blobs.put(blobPath(blob), blob);
    }
    List<String> manifestDescriptors = new ArrayList<>();
    List<String> targets = platforms.isEmpty() ? List.of("linux/amd64") : platforms;
    for (String platform : targets) {
      String[] osArch = platform.split("/");
      byte[] config = config(osArch[0], osArch[1], diffIds);
      blobs.put(blobPath(config), config);
      byte[] manifest =
          utf8(
              "{\"schemaVersion\":2,\"mediaType\":"
                  + json(OCI_MANIFEST)
                  + ",\"config\":"
                  + descriptor(OCI_CONFIG, config, "")
                  + ",\"layers\":["
                  + String.join(",", layerDescriptors)
                  + "]}");
      blobs.put(blobPath(manifest), manifest);
      String extra =
          platforms.isEmpty()
              ? ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}"
              : ",\"platform\":{\"architecture\":"
                  + json(osArch[1])
                  + ",\"os\":"
                  + json(osArch[0])
                  + "}";
      manifestDescriptors.add(descriptor(OCI_MANIFEST, manifest, extra));
    }
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put("oci-layout", utf8("{\"imageLayoutVersion\":\"1.0.0\"}"));
    files.put(
        "index.json",
        utf8(
            "{\"schemaVersion\":2,\"mediaType\":"
                + json(OCI_INDEX)
                + ",\"manifests\":["
                + String.join(",", manifestDescriptors)
                + "]}"));
    files.putAll(blobs);
    return files;
  }

  private byte[] config(String os, String arch, List<String> diffIds) {
    StringBuilder c = new StringBuilder("{");
    List<String> fields = new ArrayList<>();
    if (entrypoint != null) {
      fields.add("\"Entrypoint\":" + json(entrypoint));
    }
    if (cmd != null) {
      fields.add("\"Cmd\":" + json(cmd));
    }
    if (!env.isEmpty()) {
      fields.add("\"Env\":" + json(env));
    }
    if (workingDir != null) {
      fields.add("\"WorkingDir\":" + json(workingDir));
    }
    if (user != null) {
      fields.add("\"User\":" + json(user));
    }
    if (!exposedPorts.isEmpty()) {
      List<String> ports = new ArrayList<>();
      for (String p : exposedPorts) {
        ports.add(json(p) + ":{}");
      }
      fields.add("\"ExposedPorts\":{" + String.join(",", ports) + "}");
    }
    c.append("\"architecture\":").append(json(arch));
    c.append(",\"os\":").append(json(os));
    c.append(",\"config\":{").append(String.join(",", fields)).append("}");
    c.append(",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":").append(json(diffIds)).append("}");
    c.append("}");
    return utf8(c.toString());
  }

  private static String descriptor(String mediaType, byte[] blob, String extra) {
    return "{\"mediaType\":"
        + json(mediaType)
        + ",\"digest\":"
        + json(sha256(blob))
        + ",\"size\":"
        + blob.length
        + extra
        + "}";
  }

  private static String blobPath(byte[] blob) {
    return "blobs/sha256/" + sha256(blob).substring("sha256:".length());
  }

  // ---- tar ---------------------------------------------------------------------------------

  private static byte[] layerTar(List<Entry> entries) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = newTar(bytes)) {
      for (Entry e : entries) {
        e.write(tar);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  private static Path writeTar(Path file, Map<String, byte[]> files) {
    try {
      if (file.getParent() != null) {
        Files.createDirectories(file.getParent());
      }
      try (OutputStream out = Files.newOutputStream(file);
          TarArchiveOutputStream tar = newTar(out)) {
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
          Entry.file(f.getKey(), f.getValue(), 0644).write(tar);
        }
      }
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static TarArchiveOutputStream newTar(OutputStream out) {
    TarArchiveOutputStream tar = new TarArchiveOutputStream(out);
    tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
    tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
    return tar;
  }

  private static byte[] gzip(byte[] data) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(bytes)) {
      gz.write(data);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  // ---- JSON and digests --------------------------------------------------------------------

  /** {@code sha256:<hex>} of {@code data}. */
  public static String sha256(byte[] data) {
    try {
      return "sha256:"
          + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String json(List<String> values) {
    List<String> quoted = new ArrayList<>();
    for (String v : values) {
      quoted.add(json(v));
    }
    return "[" + String.join(",", quoted) + "]";
  }

  private static String json(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  // ---- entries -----------------------------------------------------------------------------

  /**
   * One entry of a layer tar. Names are written exactly as given (no leading {@code /} stripped,
   * no {@code ..} folded), so tests can write what a hostile image would. Immutable.
   */
  public static final class Entry {

    private final String name;
    private final byte type;
    private final byte[] content;
    private final int mode;
    private final String linkName;
    private final long uid;
    private final long gid;
    private final Instant mtime;

    private Entry(
        String name,
        byte type,
        byte[] content,
        int mode,
        String linkName,
        long uid,
        long gid,
        Instant mtime) {
      this.name = Objects.requireNonNull(name, "name");
      this.type = type;
      this.content = content;
      this.mode = mode;
      this.linkName = linkName;
      this.uid = uid;
      this.gid = gid;
      this.mtime = mtime;
    }

    /** A regular file. */
    public static Entry file(String name, byte[] content, int mode) {
      return new Entry(
          name, TarConstants.LF_NORMAL, content.clone(), mode, "", 0, 0, DEFAULT_MTIME);
    }

    /** A regular file with UTF-8 text. */
    public static Entry file(String name, String content, int mode) {
      return file(name, utf8(content), mode);
    }

    /** A directory ({@code name} gets a trailing {@code /} as tar writes them). */
    public static Entry dir(String name, int mode) {
      String n = name.endsWith("/") ? name : name + "/";
      return new Entry(n, TarConstants.LF_DIR, new byte[0], mode, "", 0, 0, DEFAULT_MTIME);
    }

    /** A symlink {@code name -> target}. */
    public static Entry symlink(String name, String target) {
      return new Entry(name, TarConstants.LF_SYMLINK, new byte[0], 0777, target, 0, 0, DEFAULT_MTIME);
    }

    /** A hard link {@code name} to the earlier entry {@code target} (a path in the image). */
    public static Entry hardLink(String name, String target) {
      return new Entry(name, TarConstants.LF_LINK, new byte[0], 0644, target, 0, 0, DEFAULT_MTIME);
    }

    /** A FIFO, which image unpackers skip. */
    public static Entry fifo(String name) {
      return new Entry(name, TarConstants.LF_FIFO, new byte[0], 0644, "", 0, 0, DEFAULT_MTIME);
    }

    /** A whiteout: deletes {@code path} as lower layers left it ({@code dir/.wh.name}). */
    public static Entry whiteout(String path) {
      int slash = path.lastIndexOf('/');
      String whiteout = path.substring(0, slash + 1) + ".wh." + path.substring(slash + 1);
      return new Entry(whiteout, TarConstants.LF_NORMAL, new byte[0], 0, "", 0, 0, DEFAULT_MTIME);
    }

    /** An opaque whiteout: hides what lower layers put in directory {@code dir}. */
    public static Entry opaque(String dir) {
      String d = dir.isEmpty() || dir.endsWith("/") ? dir : dir + "/";
      return new Entry(
          d + ".wh..wh..opq", TarConstants.LF_NORMAL, new byte[0], 0, "", 0, 0, DEFAULT_MTIME);
    }

    /** This entry owned by {@code uid:gid} (numeric; no names are written). */
    public Entry owner(long uid, long gid) {
      return new Entry(name, type, content, mode, linkName, uid, gid, mtime);
    }

    /** This entry with modification time {@code mtime}. */
    public Entry mtime(Instant mtime) {
      return new Entry(name, type, content, mode, linkName, uid, gid, mtime);
    }

    void write(TarArchiveOutputStream tar) throws IOException {
      TarArchiveEntry e = new TarArchiveEntry(name, type, true);
      e.setMode(mode);
      e.setUserId(uid);
      e.setGroupId(gid);
      e.setUserName("");
      e.setGroupName("");
      e.setLastModifiedTime(FileTime.from(mtime));
      if (!linkName.isEmpty()) {
        e.setLinkName(linkName);
      }
      if (type == TarConstants.LF_NORMAL) {
        e.setSize(content.length);
      }
      tar.putArchiveEntry(e);
      if (type == TarConstants.LF_NORMAL) {
        tar.write(content);
      }
      tar.closeArchiveEntry();
    }

    @Override
    public String toString() {
      return "Entry{" + (char) type + " " + name + (linkName.isEmpty() ? "" : " -> " + linkName) + "}";
    }
  }
}
