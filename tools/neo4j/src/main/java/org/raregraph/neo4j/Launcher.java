package org.raregraph.neo4j;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;
import org.neo4j.kernel.internal.Version;
import org.neo4j.logging.Level;
import org.neo4j.logging.log4j.Log4jLogProvider;

/**
 * Starts a Neo4j Community DBMS (embedded, same process) with its Bolt connector on 127.0.0.1,
 * for raregraph's development and integration tests. It is not a production server: production
 * uses a real Neo4j installation or Aura, reached with the same driver and Cypher.
 *
 * <pre>
 * java -Xmx1g -XX:+UseG1GC \
 *      --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
 *      --add-opens=java.base/sun.nio.ch=ALL-UNNAMED -Dio.netty.tryReflectionSetAccessible=true \
 *      -jar tools/neo4j/target/raregraph-neo4j-launcher.jar \
 *      --home .neo4j/home [--port 7687] [--ready-file .neo4j/ready.json] [--page-cache 256m]
 * </pre>
 *
 * <ul>
 *   <li>{@code --home DIR} (required): the Neo4j home; data under {@code DIR/data}, logs under
 *       {@code DIR/logs} (debug.log is the place to look when something goes wrong).</li>
 *   <li>{@code --port P}: Bolt port on 127.0.0.1, default 7687 (Neo4j's own default). The HTTP and
 *       HTTPS connectors are disabled, so nothing else listens.</li>
 *   <li>{@code --ready-file F}: once the DBMS is up, a JSON object
 *       {@code {"bolt_uri", "pid", "auth", "neo4j_version", "heap_max_bytes", "page_cache_bytes"}} is written there atomically; it is
 *       removed again on shutdown.</li>
 *   <li>{@code --page-cache SIZE}: page cache, default {@code 256m} (k/m/g suffixes).</li>
 * </ul>
 *
 * <p>Auth: with the environment variable {@code RAREGRAPH_NEO4J_PASSWORD} unset or empty, auth is
 * disabled and the server accepts any credentials. When it is set (at least 8 characters, Neo4j's
 * minimum), auth is enabled and the built-in user {@code neo4j} gets that password (no change
 * required). The password is read from the environment so that it never shows in a process list.
 *
 * <p>Once started it prints {@code BOLT_READY bolt://127.0.0.1:P} on stdout. SIGTERM (or Ctrl-C)
 * runs a shutdown hook that shuts the DBMS down cleanly; exit status 0. A failure to start prints
 * the cause on stderr and exits with status 1.
 */
public final class Launcher {

    /** Environment variable holding the password of user {@code neo4j}; unset means no auth. */
    public static final String PASSWORD_ENV = "RAREGRAPH_NEO4J_PASSWORD";

    static final int DEFAULT_PORT = 7687;
    static final String DEFAULT_PAGE_CACHE = "256m";
    static final String USER = "neo4j";

    private Launcher() {}

    public static void main(String[] args) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println(
                    "usage: Launcher --home DIR [--port 7687] [--ready-file FILE] [--page-cache 256m]");
            System.exit(2);
            return;
        }
        try {
            run(options);
        } catch (Throwable t) {
            System.err.println("NEO4J_FAILED " + t);
            t.printStackTrace(System.err);
            System.err.flush();
            // halt, not exit: a half-started DBMS may hold non-daemon threads.
            Runtime.getRuntime().halt(1);
        }
    }

    private static void run(Options options) throws Exception {
        String password = System.getenv(PASSWORD_ENV);
        boolean auth = password != null && !password.isEmpty();
        Files.createDirectories(options.home);
        if (options.readyFile != null) {
            Files.deleteIfExists(options.readyFile);
        }

        long started = System.nanoTime();
        Log4jLogProvider userLog = new Log4jLogProvider(System.out, Level.INFO);
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(options.home)
                .setUserLogProvider(userLog)
                .setConfig(Map.of(
                        BoltConnector.enabled, true,
                        BoltConnector.listen_address, new SocketAddress("127.0.0.1", options.port),
                        BoltConnector.advertised_address, new SocketAddress("127.0.0.1", options.port),
                        BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED,
                        HttpConnector.enabled, false,
                        HttpsConnector.enabled, false,
                        GraphDatabaseSettings.auth_enabled, auth,
                        GraphDatabaseSettings.pagecache_memory, options.pageCacheBytes,
                        // Dev server: keep transaction logs small and do not preallocate them.
                        GraphDatabaseSettings.keep_logical_logs, "1 files",
                        GraphDatabaseSettings.preallocate_logical_logs, false))
                .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, ByteUnit.mebiBytes(64))
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                // Internal settings, dev only: without them Bolt's shutdown idles for ~10 s
                // (a 5 s connection wait, then a 5 s Netty quiet period) before the JVM exits.
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, Duration.ofSeconds(5))
                .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofSeconds(1))
                .setConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofSeconds(1))
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Path readyFile = options.readyFile;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("NEO4J_STOPPING");
            System.out.flush();
            try {
                if (readyFile != null) {
                    Files.deleteIfExists(readyFile);
                }
            } catch (IOException ignored) {
                // the Python side treats a stale ready file with a dead pid as "not running"
            }
            dbms.shutdown();
            userLog.close();
            System.out.println("NEO4J_STOPPED");
            System.out.flush();
            stopped.countDown();
        }, "raregraph-neo4j-shutdown"));

        GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        if (!db.isAvailable(Duration.ofMinutes(2).toMillis())) {
            throw new IllegalStateException("database 'neo4j' did not become available within 2 minutes");
        }
        if (auth) {
            GraphDatabaseService system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
            system.executeTransactionally(
                    "ALTER USER " + USER + " SET PASSWORD $password CHANGE NOT REQUIRED",
                    Map.of("password", password));
        }

        String boltUri = "bolt://127.0.0.1:" + options.port;
        long pid = ProcessHandle.current().pid();
        if (readyFile != null) {
            String json = String.format(
                    "{\"bolt_uri\": \"%s\", \"pid\": %d, \"auth\": %s, \"neo4j_version\": \"%s\","
                            + " \"heap_max_bytes\": %d, \"page_cache_bytes\": %d}%n",
                    boltUri, pid, auth, Version.getNeo4jVersion(), Runtime.getRuntime().maxMemory(),
                    options.pageCacheBytes);
            Path tmp = readyFile.resolveSibling(readyFile.getFileName() + ".tmp");
            Files.writeString(tmp, json, StandardCharsets.UTF_8);
            Files.move(tmp, readyFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        System.out.printf("BOLT_READY %s (neo4j %s, auth %s, pid %d, started in %.1f s)%n",
                boltUri, Version.getNeo4jVersion(), auth ? "enabled for user " + USER : "disabled", pid,
                (System.nanoTime() - started) / 1e9);
        System.out.flush();

        // Park the main thread; the shutdown hook does the work and releases it.
        while (!stopped.await(1, TimeUnit.HOURS)) {
            // keep waiting
        }
    }

    /** Parsed command line. */
    static final class Options {
        Path home;
        int port = DEFAULT_PORT;
        Path readyFile;
        long pageCacheBytes = parseSize(DEFAULT_PAGE_CACHE);

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                String value;
                int eq = arg.indexOf('=');
                if (arg.startsWith("--") && eq > 0) {
                    value = arg.substring(eq + 1);
                    arg = arg.substring(0, eq);
                } else if (i + 1 < args.length) {
                    value = args[++i];
                } else {
                    throw new IllegalArgumentException("missing value for " + arg);
                }
                switch (arg) {
                    case "--home" -> o.home = Path.of(value).toAbsolutePath();
                    case "--port" -> o.port = parsePort(value);
                    case "--ready-file" -> o.readyFile = Path.of(value).toAbsolutePath();
                    case "--page-cache" -> o.pageCacheBytes = parseSize(value);
                    default -> throw new IllegalArgumentException("unknown option " + arg);
                }
            }
            if (o.home == null) {
                throw new IllegalArgumentException("--home is required");
            }
            return o;
        }

        static int parsePort(String value) {
            int port;
            try {
                port = Integer.parseInt(value);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--port must be an integer, got '" + value + "'");
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("--port must be in 1..65535, got " + port);
            }
            return port;
        }

        static long parseSize(String value) {
            String v = value.trim().toLowerCase();
            long unit = 1;
            char last = v.isEmpty() ? ' ' : v.charAt(v.length() - 1);
            switch (last) {
                case 'k' -> unit = ByteUnit.kibiBytes(1);
                case 'm' -> unit = ByteUnit.mebiBytes(1);
                case 'g' -> unit = ByteUnit.gibiBytes(1);
                default -> { }
            }
            String digits = unit == 1 ? v : v.substring(0, v.length() - 1);
            try {
                long n = Long.parseLong(digits);
                if (n <= 0) {
                    throw new NumberFormatException();
                }
                return n * unit;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad size '" + value + "' (e.g. 256m, 1g)");
            }
        }
    }
}
