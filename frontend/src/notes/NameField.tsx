/** The display-name setting (in the header's Display panel). */
import { useEffect, useState } from "preact/hooks";
import { loadName, MAX_NAME, onNameChange, saveName } from "./name";

export function NameField() {
  const [name, setName] = useState(loadName);
  useEffect(() => onNameChange(setName), []);
  return (
    <div class="name-setting">
      <label for="glosa-name">Your name on notes</label>
      <input
        id="glosa-name"
        type="text"
        autocomplete="nickname"
        maxLength={MAX_NAME}
        value={name}
        onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
        onChange={(e) => saveName((e.currentTarget as HTMLInputElement).value)}
      />
    </div>
  );
}
