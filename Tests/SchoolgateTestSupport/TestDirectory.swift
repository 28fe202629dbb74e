import Foundation

/// Shared by the identity and CLI tests.
///
/// A real OpenLDAP server (Debian's slapd) of the test's own: its own config, data and TLS
/// certificate in a temporary folder, on free loopback ports, stopped when the test ends.
public final class TestDirectory {
    public let folder = NSTemporaryDirectory() + "schoolgate-slapd-" + UUID().uuidString
    public private(set) var ldapPort: Int
    public private(set) var ldapsPort: Int
    private var process: Process?

    public static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/sbin/slapd") && FileManager.default.isExecutableFile(atPath: "/usr/sbin/slapadd")
            && FileManager.default.fileExists(atPath: "/usr/lib/ldap/ppolicy.so")
    }

    public static let data = """
        dn: dc=school,dc=test
        objectClass: dcObject
        objectClass: organization
        o: Test School
        dc: school

        dn: ou=people,dc=school,dc=test
        objectClass: organizationalUnit
        ou: people

        dn: ou=groups,dc=school,dc=test
        objectClass: organizationalUnit
        ou: groups

        dn: cn=default,ou=groups,dc=school,dc=test
        objectClass: organizationalRole
        objectClass: pwdPolicy
        cn: default
        pwdAttribute: userPassword
        pwdLockout: TRUE

        dn: uid=schoolgate,ou=people,dc=school,dc=test
        objectClass: inetOrgPerson
        uid: schoolgate
        cn: Schoolgate service
        sn: service
        userPassword: service-password-1

        dn: uid=jsmith,ou=people,dc=school,dc=test
        objectClass: inetOrgPerson
        uid: jsmith
        cn: Jo Smith
        sn: Smith
        userPassword: correct-horse-1

        dn: uid=locked,ou=people,dc=school,dc=test
        objectClass: inetOrgPerson
        uid: locked
        cn: Locked Out
        sn: Out
        userPassword: correct-horse-2
        pwdAccountLockedTime: 000001010000Z

        dn: cn=KS3 Pupils,ou=groups,dc=school,dc=test
        objectClass: groupOfNames
        cn: KS3 Pupils
        member: uid=jsmith,ou=people,dc=school,dc=test

        dn: cn=Chess Club,ou=groups,dc=school,dc=test
        objectClass: groupOfNames
        cn: Chess Club
        member: uid=jsmith,ou=people,dc=school,dc=test
        member: uid=locked,ou=people,dc=school,dc=test

        """

    public init() throws {
        (ldapPort, ldapsPort) = Self.freshPorts()
        try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
        try TestShell.run("openssl req -x509 -newkey rsa:2048 -nodes -keyout \(folder)/key.pem -out \(folder)/cert.pem -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1")
        try """
            include /etc/ldap/schema/core.schema
            include /etc/ldap/schema/cosine.schema
            include /etc/ldap/schema/inetorgperson.schema
            modulepath /usr/lib/ldap
            moduleload back_mdb
            moduleload ppolicy
            pidfile \(folder)/slapd.pid
            TLSCACertificateFile \(folder)/cert.pem
            TLSCertificateFile \(folder)/cert.pem
            TLSCertificateKeyFile \(folder)/key.pem
            database mdb
            maxsize 10485760
            suffix "dc=school,dc=test"
            rootdn "cn=admin,dc=school,dc=test"
            rootpw admin-password-1
            directory \(folder)/data
            overlay ppolicy
            ppolicy_default "cn=default,ou=groups,dc=school,dc=test"
            ppolicy_use_lockout
            """.write(toFile: folder + "/slapd.conf", atomically: true, encoding: .utf8)
        try Self.data.write(toFile: folder + "/data.ldif", atomically: true, encoding: .utf8)
        try TestShell.run("/usr/sbin/slapadd -f \(folder)/slapd.conf -l \(folder)/data.ldif")
        try start()
    }

    /// Starts slapd and waits until its LDAPS port accepts. A loaded machine gets 20 s; ports
    /// that turn out to be taken (slapd exits at once) are traded for others, three times.
    public func start() throws {
        for attempt in 0..<3 {
            if attempt > 0 { (ldapPort, ldapsPort) = Self.freshPorts() }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/slapd")
            process.arguments = ["-f", folder + "/slapd.conf", "-h", "ldap://127.0.0.1:\(ldapPort)/ ldaps://127.0.0.1:\(ldapsPort)/", "-d", "0"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            self.process = process
            for _ in 0..<400 where process.isRunning {
                if (try? TestShell.run("exec 3<>/dev/tcp/127.0.0.1/\(ldapsPort)")) != nil {
                    // Something else may have been listening there: slapd then exits at once.
                    Thread.sleep(forTimeInterval: 0.2)
                    if process.isRunning { return }
                    break
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            stop()
        }
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "slapd did not start"])
    }

    /// Two ports below Linux's ephemeral range (32768 up): the other tests' servers listen on
    /// ports the kernel picks from that range, and one on the LDAPS port could answer the
    /// readiness probe in slapd's place (the likely cause of a TLS "wrong version number" seen
    /// once in a clean-clone CI run).
    static func freshPorts() -> (ldap: Int, ldaps: Int) {
        let ldap = Int.random(in: 20_000..<26_000)
        return (ldap, ldap + 6_000)
    }

    /// Killed outright: slapd in debug mode lingers on SIGTERM, and its data is thrown away anyway.
    public func stop() {
        if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process?.waitUntilExit()
        process = nil
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: folder)
    }
}
