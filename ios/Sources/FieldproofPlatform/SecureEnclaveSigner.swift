import CryptoKit
import Fieldproof
import Foundation

/// The evidence key in the Secure Enclave (CryptoKit `SecureEnclave.P256.Signing`):
/// the private key never leaves it; only its opaque, device-bound handle is kept in
/// the Keychain (this device only, available after first unlock, so background
/// captures and syncs can sign). Mirrors Android's KeystoreSigner.
/// (`@unchecked Sendable`: the key is immutable, and the Secure Enclave serialises its use.)
public final class SecureEnclaveSigner: EvidenceSigner, @unchecked Sendable {
    private let key: SecureEnclave.P256.Signing.PrivateKey

    init(key: SecureEnclave.P256.Signing.PrivateKey) {
        self.key = key
    }

    public func publicKey() -> Data {
        key.publicKey.x963Representation // 0x04 ‖ x ‖ y: SEC1 uncompressed
    }

    public func sign(message: Data) throws -> Data {
        do {
            return try key.signature(for: message).derRepresentation
        } catch {
            throw FieldproofError.Storage(code: "key_unavailable", reason: "the Secure Enclave key cannot sign")
        }
    }

    /// Installs the key that signs this device's chain, making one for a fresh
    /// device. Throws `key_unavailable` when the chain's key is gone (a restore to
    /// another phone): the device must then be enrolled as a new one.
    public static func install(store: InspectionStore, keychainAccount: String = "org.fieldproof.evidence-key") throws -> SecureEnclaveSigner {
        if let handle = Keychain.read(account: keychainAccount) {
            let signer = SecureEnclaveSigner(key: try SecureEnclave.P256.Signing.PrivateKey(dataRepresentation: handle))
            try store.usePlatformSigner(signer: signer)
            return signer
        }
        let key = try SecureEnclave.P256.Signing.PrivateKey()
        let signer = SecureEnclaveSigner(key: key)
        try store.usePlatformSigner(signer: signer)
        try Keychain.write(account: keychainAccount, data: key.dataRepresentation)
        return signer
    }
}

/// The Keychain item holding the Secure Enclave key's handle.
enum Keychain {
    static func read(account: String) -> Data? {
        let query: [String: Any] = [kSecClass as String: kSecClassGenericPassword,
                                    kSecAttrAccount as String: account,
                                    kSecReturnData as String: true]
        var item: CFTypeRef?
        return SecItemCopyMatching(query as CFDictionary, &item) == errSecSuccess ? item as? Data : nil
    }

    static func write(account: String, data: Data) throws {
        let item: [String: Any] = [kSecClass as String: kSecClassGenericPassword,
                                   kSecAttrAccount as String: account,
                                   kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
                                   kSecValueData as String: data]
        let status = SecItemAdd(item as CFDictionary, nil)
        guard status == errSecSuccess else {
            throw FieldproofError.Storage(code: "key_unavailable", reason: "the Keychain refused the key handle (\(status))")
        }
    }
}
