// BMC credentials at rest: AES-256-GCM with the service's secrets key. The plaintext only exists
// in memory while it is encrypted; nothing in this service decrypts it for a response.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

export class SecretBox {
  private readonly key: Buffer;

  constructor(keyBase64: string) {
    this.key = Buffer.from(keyBase64, "base64");
    if (this.key.length !== 32) throw new Error("the secrets key must be 32 bytes, base64-encoded");
  }

  /** nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes); `context` is bound as associated data. */
  seal(plaintext: string, context: string): Buffer {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    cipher.setAAD(Buffer.from(context));
    const sealed = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return Buffer.concat([nonce, sealed, cipher.getAuthTag()]);
  }

  open(box: Buffer, context: string): string {
    const decipher = createDecipheriv("aes-256-gcm", this.key, box.subarray(0, 12));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(box.subarray(box.length - 16));
    return Buffer.concat([decipher.update(box.subarray(12, box.length - 16)), decipher.final()]).toString("utf8");
  }
}
