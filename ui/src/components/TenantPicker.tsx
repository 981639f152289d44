// The organization picker (shown only to someone in several organizations), in a
// chunk of its own: Dropdown brings Fluent's positioning (floating-ui) and listbox.
import { Dropdown, Option } from "@fluentui/react-components";
import type { TenantDto } from "../bindings/TenantDto";

export default function TenantPicker(props: {
  className: string;
  tenants: TenantDto[];
  current: TenantDto;
  onPick: (id: string) => void;
}) {
  const { className, tenants, current, onPick } = props;
  return (
    <Dropdown
      className={className}
      aria-label="Organization"
      value={current.name}
      selectedOptions={[current.id]}
      onOptionSelect={(_, d) => d.optionValue && onPick(d.optionValue)}
    >
      {tenants.map((t) => (
        <Option key={t.id} value={t.id}>
          {t.name}
        </Option>
      ))}
    </Dropdown>
  );
}
